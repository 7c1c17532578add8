"""Find the system programs the control plane runs, or say which package to install."""

from __future__ import annotations

import os
import shutil

from controlplane.errors import MissingDependency

__all__ = ["PACKAGES", "SETUP_HINT", "require"]

SETUP_HINT = "run `make setup` (as root), or: sudo apt-get install -y {package}"

# program -> Debian package that provides it
PACKAGES: dict[str, str] = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "etcd": "etcd-server",
    "patroni": "patroni",
    "haproxy": "haproxy",
    "nft": "nftables",
}


def require(program: str) -> str:
    path = shutil.which(program, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if path:
        return path
    package = PACKAGES.get(program, program)
    raise MissingDependency(f"{program} not found: install the Debian package {package!r}; "
                            + SETUP_HINT.format(package=package))
