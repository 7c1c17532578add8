"""One reference cluster per test module that asks for it, and a check that every load
process (engine, workers, plain locust) is gone after each test."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.host.procs import find_owned, kill_tree
from tests.support.cluster import cluster  # noqa: F401 (the module-scoped real cluster)

LOAD_MARKERS = ("controlplane.load.locust_process", "controlplane.load.worker", "locust")


def load_processes(base: Path) -> list[str]:
    return [f"{p.pid} {p.cmdline[:150]}" for p in find_owned([base])
            if any(m in p.cmdline for m in LOAD_MARKERS)]


@pytest.fixture(autouse=True)
def no_load_process_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    base = tmp_path_factory.getbasetemp()
    deadline = time.monotonic() + 10
    while (left := load_processes(base)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        kill_tree([int(line.split()[0]) for line in left])
    assert left == [], "load processes left behind:\n" + "\n".join(left)


def run_cli(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`controlplane ARGS...` as a real process, in `cwd`."""
    return subprocess.run([sys.executable, "-m", "controlplane", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
