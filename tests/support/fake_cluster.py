"""The fake platform with its cluster up, as most platform-level tests start."""

from __future__ import annotations

from pathlib import Path

from controlplane.platform import Platform, load_platform
from controlplane.topology import Topology, load_topology

__all__ = ["fake_cluster"]


def fake_cluster(workspace: Path, topology: Topology | None = None) -> Platform:
    """A fake platform in `workspace`, its cluster of `topology` (the reference one by default)
    up: the same platform `open_platform(workspace)` reopens in another process."""
    topology = (topology or load_topology()).model_copy(update={"platform": "fake"})
    platform = load_platform(topology, workspace)
    platform.up(topology)
    return platform
