"""What the control plane remembers of a Kubernetes cluster, in its workspace: the topology it
was brought up with, how many instances of each component it asked for, and how many pods of
each instance it replaced (Kubernetes resets a pod's restart count when the pod is replaced).

    <workspace>/kubernetes-cluster.json    read and written under a file lock
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

__all__ = ["ClusterRecord", "RecordFile"]

STATE_FILE = "kubernetes-cluster.json"


@dataclass
class ClusterRecord:
    topology: dict[str, Any]
    up: bool = True
    counts: dict[str, int] = field(default_factory=dict)      # component -> instances asked
    replaced: dict[str, int] = field(default_factory=dict)    # instance -> pods replaced


class RecordFile:
    def __init__(self, root: Path) -> None:
        self.root, self.path = root, root / STATE_FILE
        self._lock = root / f".{STATE_FILE}.lock"

    def read(self) -> ClusterRecord | None:
        if not self.path.exists():
            return None
        return ClusterRecord(**json.loads(self.path.read_text()))

    def write(self, record: ClusterRecord) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(record), indent=1))
        tmp.replace(self.path)

    @contextmanager
    def edit(self) -> Iterator[ClusterRecord | None]:
        """The record, written back after the block (under the lock)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self._lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                record = self.read()
                yield record
                if record is not None:
                    self.write(record)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
