"""The guard's halt watch (no cluster): it reads the store's halt flag every `halt_poll_s`
while the method runs, apart from the hypothesis, so a halt set in the store by another
process reaches a runner that no signal reaches, even while a probe takes seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.chaos import steady_state_guard as guard_module
from controlplane.chaos.steady_state_guard import Guard
from controlplane.store import Store

SLOW_PROBE_S = 5.0


class Counted:
    """A guard whose revert and interrupt are counted, not done."""

    def __init__(self, halted, poll: float = 0.1) -> None:
        self.reverts = self.interrupts = 0
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.guard = Guard({}, {}, {}, 0.1, self.record, self.revert, halted,
                           interrupt=self.interrupt, halt_poll_s=poll)

    def record(self, kind: str, at: float, detail: dict[str, Any]) -> None:
        self.events.append((kind, detail))

    def revert(self) -> dict[str, Any]:
        self.reverts += 1
        return {"reverted": [1], "verified": True}

    def interrupt(self) -> None:
        self.interrupts += 1


@pytest.fixture
def slow_hypothesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every evaluation of the hypothesis takes SLOW_PROBE_S (a probe waiting on a timeout)."""
    release = threading.Event()

    def evaluate(*args: Any) -> dict[str, Any]:
        release.wait(SLOW_PROBE_S)
        return {"steady_state_met": True, "probes": []}
    monkeypatch.setattr(guard_module, "evaluate", evaluate)
    yield
    release.set()


def _wait(predicate, timeout: float) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_halt_in_the_store_trips_the_guard_while_a_probe_is_still_running(
        tmp_path: Path, slow_hypothesis: None) -> None:
    db = tmp_path / "controlplane.db"
    Store(db).close()

    def halted() -> bool:                    # as the runner reads it: the store, not memory
        with Store(db) as store:
            return store.halt_state().halted
    counted = Counted(halted)
    counted.guard.active.set()
    counted.guard.start()
    try:
        time.sleep(0.3)                       # the first evaluation is under way
        with Store(db) as other_process:
            other_process.set_halt(True, "from the API")
        took = _wait(lambda: counted.reverts, timeout=SLOW_PROBE_S - 1)
    finally:
        counted.guard.stop()
    assert took < 1.0
    assert counted.guard.tripped["why"] == "halted"
    assert counted.guard.tripped["seen_by"] == "halt watch"
    assert counted.interrupts == 1
    assert [k for k, _ in counted.events] == ["halt", "aborted_and_reverted"]


def test_both_loops_seeing_the_halt_trip_the_guard_once() -> None:
    counted = Counted(lambda: True, poll=0.01)
    counted.guard.active.set()
    counted.guard.start()
    try:
        _wait(lambda: counted.reverts, timeout=5)
        time.sleep(0.3)
    finally:
        counted.guard.stop()
    assert (counted.reverts, counted.interrupts) == (1, 1)


def test_the_watch_does_nothing_before_the_method_starts() -> None:
    counted = Counted(lambda: True, poll=0.05)
    counted.guard.start()
    time.sleep(0.4)
    counted.guard.stop()
    assert (counted.reverts, counted.interrupts, counted.guard.tripped) == (0, 0, {})


def test_a_method_already_interrupted_is_not_interrupted_again() -> None:
    """The halt's SIGUSR1 stopped the method first: the guard still reverts, but a second
    SIGUSR1 would land in the rollbacks and cut them short."""
    counted = Counted(lambda: True)
    counted.guard._trip({"why": "halted", "at": time.time()})
    assert (counted.reverts, counted.interrupts) == (1, 0)


def test_a_halt_flag_that_cannot_be_read_does_not_kill_the_watch() -> None:
    calls = []

    def flaky() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("database is locked")
        return True
    counted = Counted(flaky, poll=0.02)
    counted.guard.interval = 60           # only the watch reads the flag in this test
    counted.guard.active.set()
    counted.guard.watch.start()
    try:
        _wait(lambda: counted.reverts, timeout=5)
    finally:
        counted.guard.stop()
    assert len(calls) >= 3 and counted.guard.tripped["why"] == "halted"
