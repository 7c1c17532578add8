"""`chaos discover controlplane`: the extension's actions, probes and fault kinds."""

from __future__ import annotations

from chaoslib.discovery import discover_actions, discover_probes, initialize_discovery_result
from chaoslib.types import DiscoveredActivities, Discovery

from controlplane import __version__

__all__ = ["discover"]


def discover(discover_system: bool = True) -> Discovery:
    discovery = initialize_discovery_result("controlplane", __version__, "controlplane")
    discovery["activities"].extend(_activities())
    if discover_system:
        discovery["system"] = {"fault_kinds": _fault_kinds()}
    return discovery


def _activities() -> DiscoveredActivities:
    return (discover_actions("controlplane.chaos.actions")
            + discover_probes("controlplane.chaos.probes"))


def _fault_kinds() -> list[dict[str, object]]:
    from controlplane.chaos.faults import FAULTS

    return [k.describe() for k in sorted(FAULTS.values(), key=lambda k: k.name)]
