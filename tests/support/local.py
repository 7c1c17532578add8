"""The one door from the tests into the local platform's mechanisms (nftables tables, cgroups,
the state directory's layout, program lookup), for tests that verify what the local platform
left behind. Everything else in the tests reaches a cluster through `controlplane.platform`.
The import-scan test allows this file and `tests/platform/local/`, and nothing else."""

from controlplane.platform.local import LocalPlatform, binaries
from controlplane.platform.local.cgroups import Cgroups
from controlplane.platform.local.nft import Nft
from controlplane.platform.local.state import StateDir

__all__ = ["Cgroups", "LocalPlatform", "Nft", "StateDir", "binaries", "data_dir", "pid",
           "process_roots"]


def pid(instance) -> int | None:
    """The local platform's process id of an instance (its `handle` is "pid N")."""
    handle = instance.handle
    return int(handle.split()[1]) if handle.startswith("pid ") else None


def process_roots(platform) -> list:
    """Every directory whose processes belong to the local cluster in `platform`'s workspace
    (the state directory and any extra roots, such as PostgreSQL's data outside it)."""
    return StateDir(platform.workspace.root).roots()


def data_dir(platform, instance_id: str):
    """Where the local platform keeps an instance's data (what a disk fill must write into)."""
    return platform._data_dirs()[instance_id]
