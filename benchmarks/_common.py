"""Shared by the benchmark scripts: a throwaway cluster, medians, and result files."""

from __future__ import annotations

import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from controlplane.platform import Platform, open_platform
from controlplane.topology import DEFAULT_TOPOLOGY, Topology, parse_topology

RESULTS = Path(__file__).resolve().parent / "results"


def topology_with(ledger_settings: dict[str, Any] | None = None) -> Topology:
    data = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    if ledger_settings:
        data["services"]["ledger"]["settings"].update(ledger_settings)
    return parse_topology(data, f"{DEFAULT_TOPOLOGY} (benchmark variant)")


@contextlib.contextmanager
def cluster(topology: Topology) -> Iterator[Platform]:
    """A fresh cluster on free ports, purged afterwards whatever happens."""
    root = Path(tempfile.mkdtemp(prefix="cp-bench-", dir="/tmp"))
    root.chmod(0o755)
    platform = open_platform(root / "state")
    try:
        started = time.monotonic()
        platform.up(topology, all_auto_ports=True, timeout=300)
        print(f"cluster up in {time.monotonic() - started:.1f} s", flush=True)
        yield platform
    finally:
        platform.down(purge=True)
        with contextlib.suppress(OSError):
            root.rmdir()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y-%m-%d')}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"results written to {path}")
    return path


def owner_token(platform: Platform) -> str:
    """The token of whoever started the cluster, for its control-plane API: the local platform
    keeps it beside the database passwords, in the state directory's secrets.json."""
    return str(json.loads((platform.workspace.root / "secrets.json").read_text())["owner"])
