"""The records the store keeps, as frozen dataclasses, and the JSON and time helpers.

Times are float epoch seconds (UTC); `iso` renders them. JSON columns hold objects, checked
to be serializable (and free of NaN) before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypedDict

from controlplane.errors import InvalidInput

__all__ = ["DRILL_STATES", "FAULT_STATES", "Drill", "DrillEvent", "DrillResult", "DrillState",
           "Fault", "FaultState", "JsonObject", "from_json", "iso", "to_json"]

DrillState = Literal["running", "passed", "failed", "aborted"]
FaultState = Literal["pending", "injected", "reverted", "failed"]
DRILL_STATES: tuple[DrillState, ...] = ("running", "passed", "failed", "aborted")
FAULT_STATES: tuple[FaultState, ...] = ("pending", "injected", "reverted", "failed")
JsonObject = Mapping[str, object]


class DrillResult(TypedDict, total=False):
    """The measurements a drill usually records; any other JSON keys are kept too."""

    rto_s: float
    rpo_orders: int
    rpo_span_s: float
    acked_total: int
    attempts: int
    errors: int
    detection_s: float
    failover_s: float
    verdict: str


@dataclass(frozen=True, slots=True)
class Drill:
    id: int
    kind: str
    target: str
    state: DrillState
    started_at: float
    ended_at: float | None
    params: JsonObject
    result: JsonObject | None


@dataclass(frozen=True, slots=True)
class DrillEvent:
    """A point on a drill's timeline: load_started, fault_injected, detected, failover, ..."""

    id: int
    drill_id: int
    at: float
    kind: str
    detail: JsonObject


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault recorded before injection; open while pending or injected."""

    id: int
    kind: str
    target: str
    run_id: str | None
    state: FaultState
    revert: JsonObject  # what reverting needs, written before the fault is injected
    recorded_at: float
    injected_at: float | None
    reverted_at: float | None
    revert_detail: JsonObject | None
    error: str | None  # why injection, or the last revert attempt, failed
    expires_at: float | None = None  # undone by then, by whoever is left (the reaper)
    owner_pid: int | None = None     # the process that injected it: its runner
    owner_host: str | None = None


def iso(ts: float | None) -> str | None:
    """`2024-05-01T12:00:00.250Z` for an epoch time; None stays None."""
    if ts is None:
        return None
    text = datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def to_json(value: object, field: str) -> str:
    """A JSON object as text, or InvalidInput naming the field."""
    if not isinstance(value, Mapping):
        raise InvalidInput("must be a JSON object (a mapping)", field=field,
                           value=type(value).__name__)
    try:
        return json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"is not JSON-serializable: {err}", field=field,
                           fix="use str, int, float (finite), bool, None, lists and dicts "
                               "with string keys") from None


def from_json(text: str | None) -> JsonObject | None:
    return None if text is None else json.loads(text)
