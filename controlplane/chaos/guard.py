"""The continuous steady-state guard: while the method runs, evaluate the hypothesis every
`interval` seconds; on a breach (or a halt), revert the run's faults at once, then interrupt
Chaos Toolkit so that it plays the rollbacks. Also the chaoslib event handler that tells the
guard when the method starts and ends, and records the run's timeline."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from chaoslib.hypothesis import run_steady_state_hypothesis
from chaoslib.run import EventHandlerRegistry, RunEventHandler

__all__ = ["Guard", "TimelineEvents", "failing_probe"]

log = logging.getLogger(__name__)
Record = Callable[[str, float, dict[str, Any]], None]


def failing_probe(state: dict[str, Any] | None) -> dict[str, Any]:
    """Name and value of the first probe outside its tolerance in a hypothesis result."""
    for probe in (state or {}).get("probes", []):
        if not probe.get("tolerance_met", True):
            return {"probe": probe.get("activity", {}).get("name"),
                    "value": probe.get("output")}
    return {}


class Guard(threading.Thread):
    def __init__(self, experiment: dict[str, Any], configuration: dict[str, Any],
                 secrets: dict[str, Any], interval: float, record: Record,
                 revert: Callable[[], dict[str, Any]], halted: Callable[[], bool]) -> None:
        super().__init__(name="steady-state-guard", daemon=True)
        self.experiment, self.configuration, self.secrets = experiment, configuration, secrets
        self.interval = interval
        self.record, self.revert, self.halted = record, revert, halted
        self.active = threading.Event()
        self.finished = threading.Event()
        self.tripped: dict[str, Any] = {}

    def run(self) -> None:
        while not self.finished.is_set():
            if self.active.is_set():
                reason = self._check()
                if reason:
                    self._trip(reason)
                    return
            self.finished.wait(self.interval)

    def _check(self) -> dict[str, Any] | None:
        if self.halted():
            return {"why": "halted", "at": time.time()}
        state = run_steady_state_hypothesis(self.experiment, self.configuration, self.secrets,
                                            dry=None, event_registry=EventHandlerRegistry())
        if state is not None and not state["steady_state_met"] and self.active.is_set():
            return {"why": "deviation", "at": time.time(), **failing_probe(state)}
        return None

    def _trip(self, reason: dict[str, Any]) -> None:
        self.tripped = reason
        self.record("deviation" if reason["why"] == "deviation" else "halt", reason["at"], reason)
        result = self.revert()
        done = time.time()
        self.tripped["reverted_at"] = done
        self.record("aborted_and_reverted", done, {"abort_latency_s": done - reason["at"],
                                                   **result})
        os.kill(os.getpid(), signal.SIGUSR1)      # chaoslib: stop now, play the rollbacks

    def stop(self) -> None:
        self.active.clear()
        self.finished.set()


class TimelineEvents(RunEventHandler):
    """Chaos Toolkit's lifecycle, as timeline events; arms and disarms the guard."""

    def __init__(self, guard: Guard, record: Record) -> None:
        self.guard, self.record = guard, record
        self.before: dict[str, Any] | None = None

    def hypothesis_before_completed(self, experiment, state, journal) -> None:
        self.before = state
        self.record("steady_state_before", time.time(),
                    {"met": bool(state and state.get("steady_state_met")),
                     **failing_probe(state)})

    def start_method(self, experiment) -> None:
        self.record("method_started", time.time(), {})
        self.guard.active.set()

    def method_completed(self, experiment, state) -> None:
        self.guard.active.clear()
        self.record("method_completed", time.time(), {})

    def start_rollbacks(self, experiment) -> None:
        self.guard.active.clear()
        self.record("rollbacks_started", time.time(), {})

    def rollbacks_completed(self, experiment, journal) -> None:
        self.record("rollbacks_completed", time.time(), {})

    def hypothesis_after_completed(self, experiment, state, journal) -> None:
        self.record("steady_state_after", time.time(),
                    {"met": bool(state and state.get("steady_state_met")),
                     **failing_probe(state)})
