"""What the control plane tells a load engine to run: a JSON file, the engine's only input.

Plain data: the control plane writes it, the engine process
(`controlplane.load.locust_process`) reads it, and a Kubernetes master pod would read the same
file from a ConfigMap.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["EngineSpec", "Mode"]

Mode = Literal["local", "master"]


@dataclass(frozen=True)
class EngineSpec:
    locustfiles: list[str]            # absolute paths
    host: str                         # the gateway, http://127.x.y.z:port
    out_dir: str                      # results are written here
    mode: Mode = "local"              # local: Locust in the engine process; master: workers
    user_classes: list[str] = field(default_factory=list)   # empty: every class found
    users: int = 10                   # the peak user count (a shape scales to it)
    spawn_rate: float = 10.0
    duration_s: float = 30.0          # the run stops by itself after this, shape or not
    shape: str | None = None          # a LoadTestShape class in the locustfiles
    workers: int = 0                  # master: how many workers must connect
    worker_wait_s: float = 30.0       # ... within this time, or the run fails
    window_s: int = 10                # the sliding window the gates read
    percentiles: list[float] = field(default_factory=lambda: [50.0, 90.0, 99.0, 99.9])
    stop_timeout_s: float = 1.0       # users get this long to finish a task when stopping
    tick_s: float = 1.0               # how often the engine reports progress
    report_interval_s: float = 1.0    # how often workers report to the master

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def read(cls, path: Path) -> EngineSpec:
        return cls(**json.loads(path.read_text()))
