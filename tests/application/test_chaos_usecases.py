"""The chaos use cases without the reference cluster: the instance is a real `sleep` process
paused through the real process-pause fault, and the runner a stand-in process
(tests/support/signal_runner.py) that reverts on SIGUSR1, ignores it, or dies of it. The halt
must leave no fault in force in every case, and say who reverted what."""

from __future__ import annotations

import math
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.application import chaos
from controlplane.application.events import Event, collect
from controlplane.chaos.engine import FaultContext, FaultEngine, FaultFailed
from controlplane.errors import InvalidInput
from controlplane.host.procs import proc_state
from controlplane.store import Store
from tests.support.signal_runner import (
    StartRunner,
    WorkspacePlatform,
    sleeping_instance,
    stand_in_runners,
)


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[int]:
    with sleeping_instance(tmp_path) as pid:
        yield pid


@pytest.fixture
def cluster(tmp_path: Path, sleeper: int) -> WorkspacePlatform:
    return WorkspacePlatform({"gateway-0": sleeper}, tmp_path)


@pytest.fixture
def start_runner(cluster: WorkspacePlatform, sleeper: int) -> Iterator[StartRunner]:
    with stand_in_runners(cluster.workspace.store_path, sleeper) as start:
        yield start


def test_a_halt_signals_the_runner_which_reverts_its_fault(cluster, start_runner,
                                                          sleeper) -> None:
    runner, fault_id = start_runner("revert")
    events: list[Event] = []
    outcome = chaos.halt(cluster, "test halt", wait_s=5, sink=collect(events))
    assert outcome.ok and outcome.seconds < 2, outcome
    assert [(r.run_id, r.signalled) for r in outcome.runs] == [("run-1", True)]
    [fault] = outcome.faults
    assert (fault.fault_id, fault.reverted_by, fault.state, fault.verified) == (
        fault_id, "runner", "reverted", True)
    assert proc_state(sleeper) != "T"
    assert runner.wait(10) == 0
    assert [e.kind for e in events] == ["halted", "signalled", "fault_reverted", "halt_done"]
    assert {e.record for e in events if e.kind in ("signalled", "fault_reverted")} == {"run-1"}
    with Store(cluster.workspace.store_path) as store:
        assert store.halt_state().halted and store.halt_state().reason == "test halt"


def test_a_runner_the_signal_does_not_reach_is_reverted_for_after_the_wait(
        cluster, start_runner, sleeper) -> None:
    runner, fault_id = start_runner("ignore")
    outcome = chaos.halt(cluster, "test halt", wait_s=0.5)
    assert outcome.ok and 0.5 <= outcome.seconds < 2, outcome
    [fault] = outcome.faults
    assert (fault.fault_id, fault.reverted_by, fault.verified) == (fault_id, "halt", True)
    assert proc_state(sleeper) != "T" and runner.poll() is None     # it still runs
    assert outcome.reverted_here == [fault]


def test_a_runner_killed_by_the_signal_is_not_waited_for(cluster, start_runner,
                                                        sleeper) -> None:
    runner, _ = start_runner("die")
    outcome = chaos.halt(cluster, "test halt", wait_s=10)
    assert runner.wait(10) == -signal.SIGUSR1
    assert outcome.ok and outcome.seconds < 3, outcome      # not the 10 s: the runner died
    assert [f.reverted_by for f in outcome.faults] == ["halt"]
    assert proc_state(sleeper) != "T"


def test_a_run_whose_runner_is_gone_is_not_signalled_and_not_waited_for(
        cluster, sleeper) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait(5)
    engine = FaultEngine(FaultContext(cluster, cluster.workspace.store_path))  # type: ignore[arg-type]
    engine.ctx.store.start_chaos_run("run-dead", "x.json", "dead", [], pid=gone.pid)
    engine.inject("process-pause", "gateway-0", {"duration_s": 30}, run_id="run-dead")
    outcome = chaos.halt(cluster, "test halt", wait_s=10)
    assert outcome.ok and outcome.seconds < 2, outcome
    assert not outcome.runs[0].signalled and "halt flag" in outcome.runs[0].note
    assert proc_state(sleeper) != "T"


def test_a_fault_the_halt_cannot_revert_makes_the_outcome_not_ok(cluster) -> None:
    with Store(cluster.workspace.store_path) as store:       # a drill's: no revert recipe
        fault = store.record_fault("ledger-hang", "ledger-0", {"drill": 1})
    outcome = chaos.halt(cluster, "test halt", wait_s=0)
    assert not outcome.ok and outcome.still_open == [fault.id]
    assert not outcome.faults[0].verified


@pytest.mark.parametrize("field, value", [
    ("reason", ""), ("reason", "   "), ("reason", 3), ("reason", "x" * 501),
    ("wait_s", math.nan), ("wait_s", math.inf), ("wait_s", -1), ("wait_s", 1e9),
    ("wait_s", True), ("wait_s", "1"), ("wait_s", 10**400),
], ids=lambda v: repr(v)[:12])
def test_bad_halt_input_is_refused_naming_the_field_before_anything_acts(
        cluster, field, value) -> None:
    args = {"reason": "r", "wait_s": 1.0, field: value}
    with pytest.raises(InvalidInput) as err:
        chaos.halt(cluster, **args)
    assert err.value.field == field
    assert not cluster.workspace.store_path.exists()        # nothing recorded, no halt


def test_resume_clears_the_halt_and_status_reports_it(cluster) -> None:
    assert chaos.status(cluster.workspace).to_dict() == {
        "halted": False, "halt_reason": None, "running": [], "open_faults": []}
    chaos.halt(cluster, "for status", wait_s=0)
    assert chaos.status(cluster.workspace).to_dict()["halt_reason"] == "for status"
    assert chaos.resume(cluster.workspace).halted is False
    assert chaos.status(cluster.workspace).halt.halted is False


def test_runs_and_run_detail_read_the_records(tmp_path: Path) -> None:
    with Store(tmp_path / "controlplane.db") as store:
        store.start_chaos_run("r-1", "a.json", "first", ["fault:x"], pid=1)
        store.finish_chaos_run("r-1", "passed", None, {})
        store.start_chaos_run("r-2", "b.json", "second", [], pid=2)
        store.add_chaos_event("r-2", time.time(), "method_started", {})
        assert [r.run_id for r in chaos.runs(store)] == ["r-2", "r-1"]
        assert [r.run_id for r in chaos.runs(store, state="running")] == ["r-2"]
        assert [r.run_id for r in chaos.runs(store, limit=1)] == ["r-2"]
        detail = chaos.run_detail(store, "r-2")
        assert detail is not None and [e.kind for e in detail.events] == ["method_started"]
        assert chaos.run_detail(store, "r-3") is None
        for bad in ("../etc", "", "a b", "x" * 129):
            with pytest.raises(InvalidInput, match="run_id"):
                chaos.run_detail(store, bad)
        with pytest.raises(InvalidInput, match="state"):
            chaos.runs(store, state="sleeping")
        for limit in (0, 1001, True):
            with pytest.raises(InvalidInput, match="limit"):
                chaos.runs(store, limit=limit)


def test_a_halt_while_a_fault_is_being_injected_leaves_it_undone(cluster, sleeper) -> None:
    """The halt finds the fault pending (recorded, not yet in force), reverts nothing that is
    there yet and closes the record; the injection that lands after it is taken back."""
    outcomes = []
    cluster.on_pause = lambda instance: outcomes.append(chaos.halt(cluster, "mid-inject", 0))
    engine = FaultEngine(FaultContext(cluster, cluster.workspace.store_path))  # type: ignore[arg-type]
    with pytest.raises(FaultFailed, match="while it was being injected"):
        engine.inject("process-pause", "gateway-0", {"duration_s": 30})
    [outcome] = outcomes
    assert [(f.state, f.reverted_by) for f in outcome.faults] == [("reverted", "halt")]
    assert proc_state(sleeper) != "T"
    with Store(cluster.workspace.store_path) as store:
        assert store.open_faults() == []
