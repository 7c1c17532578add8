"""`chaos discover controlplane`: the extension's actions, probes and fault kinds.

chaoslib reads each activity's types from `inspect.signature`, which under `from __future__
import annotations` (our modules use it) holds strings, so it names every argument `object`.
`discover_activities` reads them again through `typing.get_type_hints` and names them as
chaoslib does (`string`, `integer`, `number`, `boolean`, `mapping`, `list`...; see
`chaoslib.discovery.portable_type_name`), looking through `X | None` and generics.
"""

from __future__ import annotations

import importlib
import types
import typing
from typing import Any

from chaoslib.discovery import initialize_discovery_result
from chaoslib.discovery.discover import discover_activities as chaoslib_activities
from chaoslib.discovery.discover import portable_type_name
from chaoslib.types import DiscoveredActivities, Discovery

from controlplane import __version__

__all__ = ["discover", "discover_activities", "portable_type"]

MODULES = (("controlplane.chaos.actions", "action"), ("controlplane.chaos.probes", "probe"))


def discover(discover_system: bool = True) -> Discovery:
    discovery = initialize_discovery_result("controlplane", __version__, "controlplane")
    for module, activity_type in MODULES:
        discovery["activities"].extend(discover_activities(module, activity_type))
    if discover_system:
        discovery["system"] = {"fault_kinds": _fault_kinds()}
    return discovery


def discover_activities(module: str, activity_type: str) -> DiscoveredActivities:
    """chaoslib's discovery of `module`, with the types of the resolved annotations."""
    activities = chaoslib_activities(module, activity_type)
    mod = importlib.import_module(module)
    for activity in activities:
        hints = typing.get_type_hints(getattr(mod, activity["name"]))
        for arg in activity["arguments"]:
            if arg["name"] in hints:
                arg["type"] = portable_type(hints[arg["name"]])
        if "return" in hints:
            activity["return_type"] = portable_type(hints["return"])
    return activities


def portable_type(hint: Any) -> str:
    """chaoslib's portable name of a type hint: `str | None` is a string, `dict[str, Any]` a
    mapping (chaoslib itself names both `object`)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(members) == 1:
            hint = members[0]
    return portable_type_name(typing.get_origin(hint) or hint)


def _fault_kinds() -> list[dict[str, object]]:
    from controlplane.chaos.faults import FAULTS

    return [k.describe() for k in sorted(FAULTS.values(), key=lambda k: k.name)]
