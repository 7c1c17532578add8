"""The reference cluster, started for real once per test module that asks for it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.host.procs import find_owned
from controlplane.platform import Platform, open_platform
from controlplane.topology import Topology, load_topology
from tests.support.local import process_roots

__all__ = ["cluster", "running_cluster"]


@contextlib.contextmanager
def running_cluster(tmp_path_factory: pytest.TempPathFactory, topology: Topology,
                    name: str = "cluster") -> Iterator[Platform]:
    """A cluster of `topology` on free ports, purged afterwards; no process may be left."""
    platform = open_platform(Path(tmp_path_factory.mktemp(name)) / "state")
    roots: list[Path] = []
    try:
        platform.up(topology, all_auto_ports=True, timeout=240)
        roots = process_roots(platform)
        yield platform
    finally:
        roots = roots or process_roots(platform)
        platform.down(purge=True)
        left = find_owned(roots)
        assert left == [], f"processes left behind: {left}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_cluster(tmp_path_factory, load_topology()) as platform:
        yield platform
