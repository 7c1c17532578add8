"""The state directory of one local cluster: where every file and process of it lives.

    <root>/cluster.json          the topology and port plan this cluster runs with
    <root>/secrets.json          generated database passwords (mode 0600)
    <root>/supervisor.{sock,pid,log}
    <root>/instances/<id>/       working directory and generated config of each instance
    <root>/logs/<id>.log         stdout and stderr of each instance
    <root>/data/<id>/            persistent data (etcd, prometheus, ledger nodes)
    <root>/controlplane.db       the durable store (drills, faults, runs)
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.host.procs import RunAs

__all__ = ["ClusterRecord", "StateDir"]

# database passwords, the services' admin token, and the control plane's machine credentials
# (the alert intake, telemetry, the scrape) and its owner's token (the admin role, for whoever
# started the cluster: the same trust as the superuser password beside it)
SECRETS = ("superuser", "replication", "rewind", "app", "admin", "intake", "telemetry", "scrape",
           "owner")
_SOCKET_MAX = 100   # AF_UNIX paths are limited to 108 bytes


@dataclass(frozen=True)
class ClusterRecord:
    name: str
    topology: dict[str, Any]
    ports: dict[str, dict[str, int]]
    extra_roots: list[str]


class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def cluster_id(self) -> str:
        """Short, stable id of this state directory (names cgroups and nftables tables)."""
        return hashlib.sha1(str(self.root).encode()).hexdigest()[:10]

    @property
    def cgroup_name(self) -> str:
        return f"controlplane-{self.cluster_id}"

    @property
    def nft_table(self) -> str:
        return f"controlplane_{self.cluster_id}"

    def fault_dir(self, tag: str) -> Path:
        """Working directory of a fault's helper processes (so the sweep finds them)."""
        return self.root / "chaos" / tag

    # layout -----------------------------------------------------------------------------
    def instance_dir(self, instance: str) -> Path:
        return self.root / "instances" / instance

    def log(self, instance: str) -> Path:
        return self.root / "logs" / f"{instance}.log"

    def data(self, instance: str) -> Path:
        return self.root / "data" / instance

    @property
    def socket(self) -> Path:
        path = self.root / "supervisor.sock"
        if len(str(path)) <= _SOCKET_MAX:
            return path
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        return Path("/tmp") / f"controlplane-{digest}.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "supervisor.pid"

    @property
    def supervisor_log(self) -> Path:
        return self.root / "supervisor.log"

    @property
    def cluster_file(self) -> Path:
        return self.root / "cluster.json"

    @property
    def store_path(self) -> Path:
        return self.root / "controlplane.db"

    @property
    def targets_dir(self) -> Path:
        return self.root / "prometheus" / "targets"

    def exists(self) -> bool:
        return self.cluster_file.exists()

    def make(self) -> None:
        for sub in ("instances", "logs", "data", "prometheus/targets"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # records ----------------------------------------------------------------------------
    def write_cluster(self, record: ClusterRecord) -> None:
        _write_json(self.cluster_file, record.__dict__)

    def read_cluster(self) -> ClusterRecord:
        return ClusterRecord(**json.loads(self.cluster_file.read_text()))

    def secrets(self) -> dict[str, str]:
        """Generated once and kept: database passwords and the services' admin token."""
        path = self.root / "secrets.json"
        values = json.loads(path.read_text()) if path.exists() else {}
        missing = [k for k in SECRETS if k not in values]
        if missing:
            values.update({k: secrets.token_urlsafe(18) for k in missing})
            _write_json(path, values, mode=0o600)
        return values

    def supervisor_pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def roots(self) -> list[Path]:
        """Every directory whose processes belong to this cluster."""
        extra = self.read_cluster().extra_roots if self.exists() else []
        return [self.root] + [Path(p) for p in extra]

    # PostgreSQL's data must be reachable by the postgres user ---------------------------
    def postgres_data_root(self, owner: RunAs) -> Path:
        """`data/` when the postgres user can reach it, else a private dir under /var/tmp."""
        if owner.user is None or _world_traversable(self.root):
            return self.root / "data"
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        return Path("/var/tmp") / f"controlplane-{digest}"


def _world_traversable(path: Path) -> bool:
    for part in [path, *path.parents]:
        if part.exists() and not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def _write_json(path: Path, data: Any, mode: int = 0o644) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)
