"""The continuous steady-state guard: while the method runs, evaluate the hypothesis every
`interval` seconds; on a breach (or a halt), revert the run's faults at once, then interrupt
Chaos Toolkit so that it plays the rollbacks. Also the chaoslib event handler that tells the
guard when the method starts and ends, and records the run's timeline.

A halt reaches a run two ways: `chaos halt` (CLI or API) sends its runner SIGUSR1, and the
guard's own halt watch polls the store's halt flag every `HALT_POLL_S`, apart from the
hypothesis (whose probes may take seconds), so a halt reaches a runner the signal cannot (one
on another host, or of another user) within that.

The guard evaluates the hypothesis with the configuration and secrets chaoslib loaded for the
run (handed over by the `running` event), as chaoslib's own continuous hypothesis does. A guard
that cannot evaluate the hypothesis at all aborts the run like a breach: the method never goes
on unguarded."""

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

from controlplane.errors import ControlPlaneError

__all__ = ["HALT_POLL_S", "Guard", "HypothesisError", "TimelineEvents", "evaluate",
           "failing_probe"]

log = logging.getLogger(__name__)
Record = Callable[[str, float, dict[str, Any]], None]
MESSAGE_LIMIT = 300
HALT_POLL_S = 0.5        # how often the guard reads the store's halt flag, whatever the probes


class HypothesisError(ControlPlaneError):
    """The steady-state hypothesis could not be evaluated (not: it was evaluated and failed)."""


def evaluate(experiment: dict[str, Any], configuration: dict[str, Any],
             secrets: dict[str, Any]) -> dict[str, Any] | None:
    """chaoslib's hypothesis result, or HypothesisError saying why it could not be had."""
    try:
        return run_steady_state_hypothesis(experiment, configuration, secrets, dry=None,
                                           event_registry=EventHandlerRegistry())
    except Exception as err:        # any failure to evaluate must stop the run, not the guard
        text = f"{type(err).__name__}: {err}"[:MESSAGE_LIMIT]
        raise HypothesisError(f"the steady-state hypothesis could not be evaluated: {text}. "
                              "Check its probes' URLs and the experiment's configuration "
                              "and secrets") from err


def interrupt_chaoslib() -> None:
    """chaoslib's signal: stop the method now and play the rollbacks."""
    os.kill(os.getpid(), signal.SIGUSR1)


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
                 revert: Callable[[], dict[str, Any]], halted: Callable[[], bool],
                 interrupt: Callable[[], None] = interrupt_chaoslib,
                 halt_poll_s: float = HALT_POLL_S) -> None:
        super().__init__(name="steady-state-guard", daemon=True)
        self.experiment, self.configuration, self.secrets = experiment, configuration, secrets
        self.interval = interval
        self.record, self.revert, self.halted = record, revert, halted
        self.interrupt = interrupt
        self.halt_poll_s = halt_poll_s
        self.active = threading.Event()
        self.finished = threading.Event()
        self.tripped: dict[str, Any] = {}
        self._trip_lock = threading.Lock()
        self.watch = threading.Thread(target=self._watch_halt, name="halt-watch", daemon=True)

    def start(self) -> None:
        super().start()
        self.watch.start()

    def run(self) -> None:
        while not self.finished.is_set() and not self.tripped:
            if self.active.is_set():
                reason = self._check()
                if reason:
                    self._trip(reason)
                    return
            self.finished.wait(self.interval)

    def _watch_halt(self) -> None:
        """Read the halt flag every `halt_poll_s` while the method runs, however long the
        hypothesis takes to evaluate."""
        while not self.finished.wait(self.halt_poll_s) and not self.tripped:
            if self.active.is_set() and self._halted_now():
                self._trip({"why": "halted", "at": time.time(), "seen_by": "halt watch"})
                return

    def _halted_now(self) -> bool:
        try:
            return self.halted()
        except Exception:       # the store failing: the hypothesis loop aborts on it
            log.exception("the guard could not read the halt flag")
            return False

    def configure(self, configuration: dict[str, Any], secrets: dict[str, Any]) -> None:
        """Use the configuration and secrets chaoslib loaded for this run."""
        self.configuration, self.secrets = configuration, secrets

    def _check(self) -> dict[str, Any] | None:
        try:
            return self._evaluate()
        except Exception as err:        # HypothesisError, or the halt flag's store failing
            if not self.active.is_set():
                return None             # the method ended meanwhile: nothing left to guard
            return {"why": "hypothesis_error", "at": time.time(), "phase": "guard",
                    "message": str(err)[:MESSAGE_LIMIT]}

    def _evaluate(self) -> dict[str, Any] | None:
        if self.halted():
            return {"why": "halted", "at": time.time()}
        state = evaluate(self.experiment, self.configuration, self.secrets)
        if state is not None and not state["steady_state_met"] and self.active.is_set():
            return {"why": "deviation", "at": time.time(), **failing_probe(state)}
        return None

    def _trip(self, reason: dict[str, Any]) -> None:
        """Once per run (the hypothesis loop and the halt watch may both see a reason): record,
        revert, then interrupt the method, unless it already ended or was interrupted (a
        SIGUSR1 during the rollbacks would cut them short)."""
        with self._trip_lock:
            if self.tripped:
                return
            self.tripped = reason
        kind = "halt" if reason["why"] == "halted" else reason["why"]
        try:
            self.record(kind, reason["at"], reason)
            self._revert(reason["at"])
        finally:
            if self.active.is_set():
                self.interrupt()

    def _revert(self, since: float) -> None:
        try:
            result = self.revert()
        except Exception as err:        # still interrupt: the rollbacks revert again
            log.exception("the guard could not revert the run's faults")
            result = {"revert_error": f"{type(err).__name__}: {err}"[:MESSAGE_LIMIT]}
        done = time.time()
        self.tripped["reverted_at"] = done
        self.record("aborted_and_reverted", done, {"abort_latency_s": done - since, **result})

    def stop(self) -> None:
        self.active.clear()
        self.finished.set()


class TimelineEvents(RunEventHandler):
    """Chaos Toolkit's lifecycle, as timeline events; arms and disarms the guard."""

    def __init__(self, guard: Guard, record: Record) -> None:
        self.guard, self.record = guard, record
        self.before: dict[str, Any] | None = None

    def running(self, experiment, journal, configuration, secrets, schedule,
                settings) -> None:
        self.guard.configure(configuration or {}, secrets or {})

    def hypothesis_before_completed(self, experiment, state, journal) -> None:
        self.before = state
        self.record("steady_state_before", time.time(),
                    {"met": bool(state and state.get("steady_state_met")),
                     **failing_probe(state)})

    def interrupted(self, experiment, journal) -> None:
        self.guard.active.clear()           # a SIGUSR1 (a halt) stopped the method already
        self.record("interrupted", time.time(), {})

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
