"""The local platform: the reference cluster as real processes on this machine."""

from controlplane.platform.local.platform import DownReport, LocalPlatform

__all__ = ["DownReport", "LocalPlatform"]
