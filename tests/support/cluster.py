"""The reference cluster, started for real once per test module that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.platform.local import LocalPlatform
from controlplane.platform.local.procs import find_owned
from controlplane.topology import load_topology

__all__ = ["cluster"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(Path(tmp_path_factory.mktemp("cluster")) / "state")
    roots: list[Path] = []
    try:
        platform.up(load_topology(), all_auto_ports=True, timeout=240)
        roots = platform.state.roots()
        yield platform
    finally:
        roots = roots or platform.state.roots()
        platform.down(purge=True)
        left = find_owned(roots)
        assert left == [], f"processes left behind: {left}"
