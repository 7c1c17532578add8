"""The fake cluster's record: one JSON file in the workspace, read and written under a file
lock, so that every `FakePlatform` opened on the same workspace (the CLI, the server, a test, a
thread) sees one cluster.

    <workspace>/fake-cluster.json    the cluster: topology, instances, faults in force
    <workspace>/.fake-cluster.lock   taken (flock) around every read-modify-write
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["STATE_FILE", "FakeCluster", "FakeInstance", "Record"]

STATE_FILE = "fake-cluster.json"


@dataclass
class FakeInstance:
    """One instance and its current life (`life` 0: no process runs)."""

    id: str
    component: str
    kind: str
    index: int
    state: str = "running"        # starting / running / backoff / stopped / exited / crashed
    life: int = 0
    restarts: int = 0
    started_at: float | None = None
    exit_code: int | None = None
    role: str = ""                # ledger nodes: primary / sync_standby / standby
    paused: bool = False          # frozen whole (freeze)
    processes_frozen: bool = False   # frozen by freeze_processes only
    due: float | None = None      # when a backoff ends, or a start becomes ready

    @property
    def running(self) -> bool:
        return self.life != 0


@dataclass
class FakeCluster:
    """Everything the fake keeps about one cluster; plain data, saved as JSON."""

    topology: dict[str, Any]
    run: str                      # distinguishes incarnations of different `up`s
    up: bool = True
    options: dict[str, float] = field(default_factory=dict)
    lives: int = 0                # every life ever started, for incarnations
    handles: int = 0              # every rule and helper ever added, for their handles
    instances: dict[str, FakeInstance] = field(default_factory=dict)
    network: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    helpers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    disk: dict[str, dict[str, float]] = field(default_factory=dict)        # tag -> inst -> MB
    links: dict[str, dict[str, Any]] = field(default_factory=dict)         # name -> fault
    service_faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    journals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    scale_reports: list[dict[str, Any]] = field(default_factory=list)

    def next_handle(self) -> int:
        self.handles += 1
        return self.handles

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FakeCluster:
        instances = {k: FakeInstance(**v) for k, v in data.pop("instances").items()}
        return cls(**data, instances=instances)


class Record:
    """The record file of the fake cluster in a workspace root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / STATE_FILE
        self._lock = root / ".fake-cluster.lock"

    def exists(self) -> bool:
        return self.path.exists()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the record's lock (other processes and threads wait)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self._lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def read(self) -> FakeCluster | None:
        if not self.path.exists():
            return None
        return FakeCluster.from_dict(json.loads(self.path.read_text()))

    def write(self, cluster: FakeCluster) -> None:
        tmp = self.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cluster.to_dict(), indent=1))
        tmp.replace(self.path)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
