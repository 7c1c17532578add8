"""Platforms: where the cluster runs. The one way to touch a cluster.

`load_platform(topology, workspace)` builds the platform a topology names (`platform:`);
`open_platform(workspace)` the one a workspace was recorded with. A backend's module is imported
only here, so no other module imports a concrete platform (a test scans for it).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from controlplane.errors import InvalidInput, Unsupported
from controlplane.platform.base import (
    ClusterInfo,
    ComponentInfo,
    DeathCheck,
    DownReport,
    Health,
    InstanceInfo,
    Platform,
)
from controlplane.topology import Topology
from controlplane.workspace import Workspace, default_root

__all__ = [
    "PLANNED",
    "PLATFORMS",
    "ClusterInfo",
    "ComponentInfo",
    "DeathCheck",
    "DownReport",
    "Health",
    "InstanceInfo",
    "Platform",
    "default_state_dir",
    "load_platform",
    "open_platform",
    "platform_class",
]

# name -> "module:Class"
PLATFORMS: dict[str, str] = {
    "local": "controlplane.platform.local:LocalPlatform",
    "fake": "controlplane.platform.fake:FakePlatform",
    "kubernetes": "controlplane.platform.kubernetes:KubernetesPlatform",
}
TEST_ONLY = {"fake"}     # in memory, for the test suite: named apart in error messages
# names a topology may use that are not built yet, with the reason
PLANNED: dict[str, str] = {}


def available() -> str:
    """The platform names, as an error message lists them."""
    real = sorted(set(PLATFORMS) - TEST_ONLY)
    return ", ".join(real) + f" (for tests: {', '.join(sorted(TEST_ONLY))})"


def platform_class(name: str, source: str = "") -> type[Platform]:
    """The class of platform `name`; refuses an unknown or unbuilt one, naming the available."""
    if name in PLANNED:
        raise InvalidInput(PLANNED[name], source=source, field="platform", value=name,
                           fix=f"Available platforms: {available()}")
    target = PLATFORMS.get(name)
    if target is None:
        raise InvalidInput("unknown platform", source=source, field="platform", value=name,
                           fix=f"Set platform to one of: {available()}")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def load_platform(topology: Topology, workspace: Workspace | Path | str,
                  source: str = "") -> Platform:
    """The platform `topology.platform` names, recording its name in the workspace. `source`
    names the topology's file in errors."""
    workspace = _workspace(workspace)
    cls = platform_class(topology.platform, source=source or f"topology {topology.name!r}")
    platform = cls(workspace)
    workspace.record_platform(topology.platform)
    return platform


def open_platform(workspace: Workspace | Path | str) -> Platform:
    """The platform of the cluster this workspace records (local when nothing is recorded)."""
    workspace = _workspace(workspace)
    name = workspace.platform_name()
    if name in PLANNED or name not in PLATFORMS:
        raise Unsupported(name, "this control plane version",
                          f"{workspace.target_file} names it; available: "
                          f"{available()}")
    return platform_class(name, source=str(workspace.target_file))(workspace)


def _workspace(value: Workspace | Path | str) -> Workspace:
    return value if isinstance(value, Workspace) else Workspace(value)


def default_state_dir(topology_name: str, base: Path | None = None) -> Path:
    return default_root(topology_name, base)
