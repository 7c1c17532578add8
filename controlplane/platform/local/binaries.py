"""Find the system programs the local platform runs, or say which package to install."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from controlplane.errors import MissingDependency

__all__ = ["SETUP_HINT", "check_all", "postgres_bindir", "require"]

SETUP_HINT = "run `make setup` (as root), or: sudo apt-get install -y {package}"

# program -> Debian package that provides it
PACKAGES: dict[str, str] = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
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


def postgres_bindir() -> Path:
    """The newest PostgreSQL server binaries (Debian keeps them out of PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                        key=lambda p: int(Path(p).parent.parent.name))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    raise MissingDependency("PostgreSQL server not found: install the Debian package "
                            "'postgresql'; " + SETUP_HINT.format(package="postgresql"))


def check_all() -> None:
    """Raise for the first missing program the reference cluster needs."""
    for program in ("prometheus", "etcd", "patroni", "haproxy"):
        require(program)
    postgres_bindir()
