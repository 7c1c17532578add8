"""`chaos discover controlplane`: every activity's arguments and return carry their real types
(chaoslib's portable names), although our modules postpone annotations."""

from __future__ import annotations

from typing import Any

import pytest
from chaoslib.discovery import discover as chaoslib_discover

from controlplane.chaos.discovery import discover, discover_activities, portable_type


def _types(activities: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {a["name"]: {**{x["name"]: x.get("type") for x in a["arguments"]},
                        "return": a.get("return_type")} for a in activities}


def test_discovered_actions_show_their_argument_types() -> None:
    found = _types(discover_activities("controlplane.chaos.actions", "action"))
    assert found["inject_fault"] == {"kind": "string", "target": "string",
                                     "parameters": "mapping", "pick": "string",
                                     "configuration": "mapping", "secrets": "mapping",
                                     "return": "mapping"}
    assert found["revert_fault"]["fault_id"] == "integer"


def test_discovered_probes_show_their_argument_and_return_types() -> None:
    found = _types(discover_activities("controlplane.chaos.probes", "probe"))
    assert found["slo_p99_ms"] == {"service": "string", "window_s": "integer",
                                   "route": "string", "configuration": "mapping",
                                   "secrets": "mapping", "return": "number"}
    assert found["canary_order"]["timeout_s"] == "number"
    assert found["canary_order"]["return"] == "boolean"


def test_chaoslibs_discovery_of_the_package_names_no_argument_object() -> None:
    """What `chaos discover controlplane --no-install` runs: chaoslib loads our package and
    calls its `discover`."""
    discovery = chaoslib_discover("controlplane", discover_system=False,
                                  download_and_install=False)
    assert discovery["activities"] == discover(discover_system=False)["activities"]
    untyped = [(a["name"], x["name"]) for a in discovery["activities"]
               for x in a["arguments"] if x.get("type") in (None, "object")]
    assert len(discovery["activities"]) >= 11 and untyped == []


@pytest.mark.parametrize("hint, name", [
    (str, "string"), (int, "integer"), (float, "number"), (bool, "boolean"),
    (dict[str, Any], "mapping"), (dict[str, Any] | None, "mapping"), (list[int], "list"),
    (str | None, "string"), (str | int, "object"),
])
def test_portable_type(hint: Any, name: str) -> None:
    assert portable_type(hint) == name
