"""Find the system programs the local platform runs, or say which package to install."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import stat
from pathlib import Path

from controlplane.errors import MissingDependency
from controlplane.host.tools import PACKAGES, SETUP_HINT, require

__all__ = ["PACKAGES", "SETUP_HINT", "check_all", "patroni_command", "postgres_bindir",
           "require"]

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


REPO_ROOT = Path(__file__).resolve().parents[3]
# Debian's python3: Patroni runs as the postgres user, who cannot reach a Python under /root.
SYSTEM_PYTHON = "/usr/bin/python3"


def pinned_patroni_lib() -> Path:
    """Where scripts/setup.sh installed the pinned Patroni (CONTROLPLANE_PATRONI_HOME overrides),
    mirrored under /var/tmp when the postgres user could not traverse the checkout."""
    home = Path(os.environ.get("CONTROLPLANE_PATRONI_HOME") or REPO_ROOT / ".patroni")
    lib = home / "lib"
    if not (lib / "patroni" / "__init__.py").is_file() or not Path(SYSTEM_PYTHON).exists():
        raise MissingDependency(
            f"the pinned Patroni is not installed in {lib} (or {SYSTEM_PYTHON} is missing): run "
            "`make setup`, or set `settings.patroni: debian` on the ledger to use Debian's 3.0.2")
    if _world_traversable(lib):
        return lib
    return _mirror(lib)


def _world_traversable(path: Path) -> bool:
    return all(not part.exists() or part.stat().st_mode & stat.S_IXOTH
               for part in [path, *path.parents])


def _mirror(lib: Path) -> Path:
    stamp = (lib.parent / ".lock-hash")
    digest = hashlib.sha1(stamp.read_bytes() if stamp.exists() else str(lib).encode())
    target = Path("/var/tmp") / f"controlplane-patroni-{digest.hexdigest()[:12]}"
    if not (target / "patroni" / "__init__.py").is_file():
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.copytree(lib, tmp, dirs_exist_ok=True)
        for root, dirs, files in os.walk(tmp):
            for name in dirs + files:
                os.chmod(Path(root) / name, 0o755 if name in dirs else 0o644)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    return target


def patroni_command(flavour: str) -> tuple[list[str], dict[str, str]]:
    """The argv prefix and environment that run Patroni: `pinned` (4.1.4) or `debian` (3.0.2)."""
    if flavour == "debian":
        return [require("patroni")], {}
    return [SYSTEM_PYTHON, "-m", "patroni"], {"PYTHONPATH": str(pinned_patroni_lib())}


def check_all() -> None:
    """Raise for the first missing program the reference cluster needs."""
    for program in ("prometheus", "etcd", "patroni", "haproxy"):
        require(program)
    postgres_bindir()
