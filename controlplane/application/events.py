"""One typed event stream for progress, whatever the use case (drill, chaos run, load run,
runbook, cluster start): the doors render it (CLI lines, API server-sent events, a web page)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Event", "EventSink", "collect", "discard"]


@dataclass(frozen=True)
class Event:
    """Something a use case wants the person or program watching it to know.

    `source` names the use case ("drill", "chaos", "load", "runbook", "cluster"); `kind` what
    happened ("phase", "fault", "probe", "step", "progress", "warning", ...); `record` the id of
    the record it belongs to, once there is one.
    """

    source: str
    kind: str
    message: str
    record: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EventSink = Callable[[Event], None]


def discard(event: Event) -> None:
    """The sink of a caller that does not watch."""


def collect(into: list[Event]) -> EventSink:
    """A sink that keeps every event (tests, the API's run history)."""
    return into.append
