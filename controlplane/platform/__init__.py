"""Platforms: where the cluster runs. Loaded by name, only when configuration asks for it."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from controlplane.errors import InvalidInput
from controlplane.platform.base import ClusterInfo, ComponentInfo, Health, InstanceInfo, Platform

__all__ = [
    "PLATFORMS",
    "ClusterInfo",
    "ComponentInfo",
    "Health",
    "InstanceInfo",
    "Platform",
    "load_platform",
]

# name -> "module:Class"; a backend's module is imported only when it is asked for.
PLATFORMS: dict[str, str] = {
    "local": "controlplane.platform.local:LocalPlatform",
}


def load_platform(name: str, **options: Any) -> Platform:
    target = PLATFORMS.get(name)
    if target is None:
        raise InvalidInput(f"unknown platform {name!r}; available: {', '.join(PLATFORMS)}",
                           field="platform", fix="Set platform to one of the available names")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(**options)


def default_state_dir(topology_name: str, base: Path | None = None) -> Path:
    return (base or Path.cwd()) / ".state" / topology_name
