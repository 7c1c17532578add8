"""The runbook engine with test actions (no cluster): dry run, approvals (approve, reject,
timeout), step timeout and rollback, retries, deduplication and resolved alerts, the lock per
target, and a restart of the control plane in the middle of a run."""

from __future__ import annotations

import copy
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from controlplane.observe.alerts import parse_alerts
from controlplane.runbooks.actions import ACTIONS, ActionFailed, NoParams, action
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import Runbook
from controlplane.store import Store
from tests.support.net import wait_for

CALLS: list[str] = []


class Seconds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    seconds: float = 0.0


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str


def _register() -> None:
    if "test.do" in ACTIONS:
        return

    @action("test.do", Label, "record a call")
    def do(ctx, params: Label) -> dict:
        CALLS.append(params.label)
        return {"did": params.label}

    @action("test.undo", Label, "record an undo")
    def undo(ctx, params: Label) -> dict:
        CALLS.append(f"undo {params.label}")
        return {}

    @action("test.fail", NoParams, "always fails")
    def fail(ctx, params: NoParams) -> dict:
        raise ActionFailed("it failed on purpose")

    @action("test.slow", Seconds, "takes a while")
    def slow(ctx, params: Seconds) -> dict:
        time.sleep(params.seconds)
        return {}

    @action("test.flaky", Label, "fails until called three times")
    def flaky(ctx, params: Label) -> dict:
        CALLS.append(params.label)
        if CALLS.count(params.label) < 3:
            raise ActionFailed("not yet")
        return {"calls": CALLS.count(params.label)}

    @action("test.check", NoParams, "a check", mutates=False)
    def check(ctx, params: NoParams) -> dict:
        CALLS.append("check")
        return {}

    @action("test.undo_seen", Label, "record what the step being undone did")
    def undo_seen(ctx, params: Label) -> dict:
        CALLS.append(f"undo {params.label} after {ctx.undo}")
        return {}

    @action("test.never", NoParams, "a check that never holds", mutates=False)
    def never(ctx, params: NoParams) -> dict:
        raise ActionFailed("the condition does not hold")

    @action("test.settles", NoParams, "a check that holds from its third call", mutates=False)
    def settles(ctx, params: NoParams) -> dict:
        CALLS.append("settles")
        if CALLS.count("settles") < 3:
            raise ActionFailed("not yet")
        return {"held": True}


_register()


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    CALLS.clear()


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "controlplane.db") as s:
        yield s


def _rb(steps: list[dict], **extra) -> Runbook:
    return Runbook.model_validate({"name": "test-rb", "description": "d", "target": "t1",
                                   "expected_rto_s": 5, "steps": steps, **extra})


def _engine(store, **kw) -> RunbookEngine:
    return RunbookEngine(object(), store, poll_s=0.02, **kw)   # no platform: test actions


def _step(name: str, act: str, params: dict | None = None, **extra) -> dict:
    return {"name": name, "action": act, "params": params or {}, **extra}


def test_a_run_records_every_step_and_succeeds(store) -> None:
    rb = _rb([_step("one", "test.do", {"label": "a"}), _step("two", "test.do", {"label": "b"})])
    eng = _engine(store)
    run = eng.execute(eng.start_manual(rb, "operator:alice"), rb)
    assert run.state == "succeeded" and CALLS == ["a", "b"]
    steps = store.runbook_steps(run.id)
    assert [(s.name, s.state, s.actor) for s in steps] == [
        ("one", "succeeded", "operator:alice"), ("two", "succeeded", "operator:alice")]
    assert steps[0].input == {"label": "a"} and steps[0].output == {"did": "a"}


def test_dry_run_plans_without_acting(store) -> None:
    rb = _rb([_step("check", "test.check"), _step("act", "test.do", {"label": "x"})])
    eng = _engine(store)
    run = eng.execute(eng.start_manual(rb, "op", dry_run=True), rb)
    assert run.state == "succeeded" and run.dry_run
    assert CALLS == ["check"]                       # checks run; actions only planned
    act = [s for s in store.runbook_steps(run.id) if s.name == "act"][0]
    assert act.state == "skipped" and act.output["plan"] == {"label": "x"}


def _in_thread(eng, run, rb) -> dict:
    """`eng` runs `run` in a thread, on a store connection of the thread's own: a Store is
    used from one thread at a time, and the test goes on deciding with its own."""
    box: dict = {}

    def execute() -> None:
        with Store(eng.store.path, clock=eng.store._clock) as own:
            mine = copy.copy(eng)
            mine.store = own
            box["run"] = mine.execute(run, rb)
    thread = threading.Thread(target=execute, daemon=True)
    thread.start()
    box["thread"] = thread
    return box


@pytest.mark.parametrize(("decision", "state"), [("approve", "succeeded"),
                                                 ("reject", "rejected")])
def test_approval_gates_wait_for_on_call(store, decision: str, state: str) -> None:
    rb = _rb([_step("first", "test.do", {"label": "first"},
                    rollback={"action": "test.undo", "params": {"label": "first"}}),
              _step("risky", "test.do", {"label": "risky"}, approval=True)])
    eng = _engine(store)
    run = eng.start_manual(rb, "op")
    box = _in_thread(eng, run, rb)
    wait_for("waiting for approval",
             lambda: store.get_runbook_run(run.id).state == "waiting_approval" or None, 10)
    assert CALLS == ["first"]                          # nothing risky before the decision
    store.decide(run.id, 1, decision, "oncall:bob", "looks right")
    box["thread"].join(10)
    assert box["run"].state == state
    if decision == "reject":
        assert CALLS == ["first", "undo first"]       # completed steps rolled back
    approval = [s for s in store.runbook_steps(run.id) if s.kind == "approval"][0]
    assert approval.output["by"] == "oncall:bob"


def test_an_unanswered_approval_times_out_cleanly(store) -> None:
    now = [1000.0]
    eng = _engine(store, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    rb = _rb([_step("risky", "test.do", {"label": "r"}, approval=True)],
             approval_timeout_s=30)
    run = eng.execute(eng.start_manual(rb, "op"), rb)
    assert run.state == "failed" and "approval timed out after 30 s" in run.error
    assert CALLS == []


def test_a_step_that_overruns_its_timeout_rolls_back_what_was_done(store) -> None:
    rb = _rb([_step("first", "test.do", {"label": "a"},
                    rollback={"action": "test.undo", "params": {"label": "a"}}),
              _step("hang", "test.slow", {"seconds": 5}, timeout_s=0.2,
                    rollback={"action": "test.undo", "params": {"label": "hang"}})])
    eng = _engine(store)
    started = time.monotonic()
    run = eng.execute(eng.start_manual(rb, "op"), rb)
    assert time.monotonic() - started < 3
    assert run.state == "rolled_back" and "hang timed_out" in run.error
    assert CALLS == ["a", "undo hang", "undo a"]       # last first
    states = [(s.name, s.state) for s in store.runbook_steps(run.id)]
    assert ("hang", "timed_out") in states and ("first-rollback", "succeeded") in states


def test_retries_then_success_and_verification(store) -> None:
    rb = _rb([_step("flaky", "test.flaky", {"label": "f"}, retries=2, retry_delay_s=0,
                    verify={"action": "test.check"})])
    eng = _engine(store)
    run = eng.execute(eng.start_manual(rb, "op"), rb)
    assert run.state == "succeeded" and CALLS.count("f") == 3
    attempts = [s.attempt for s in store.runbook_steps(run.id) if s.name == "flaky"]
    assert attempts == [1, 2, 3]


def test_rollbacks_run_in_order_told_what_their_step_did(store) -> None:
    """Each rollback of a step gets the outputs of the step's attempts that succeeded (here
    the third; the verification failed after it), and a step that did nothing gets none."""
    rb = _rb([_step("flaky", "test.flaky", {"label": "f"}, retries=2, retry_delay_s=0,
                    verify={"action": "test.never", "within_s": 0.1},
                    rollback=[{"action": "test.undo_seen", "params": {"label": "1"}},
                              {"action": "test.undo", "params": {"label": "2"}}])])
    run = _engine(store).execute(_engine(store).start_manual(rb, "op"), rb)
    assert run.state == "rolled_back"
    assert CALLS[-2:] == ["undo 1 after [{'calls': 3}]", "undo 2"]
    rb = _rb([_step("boom", "test.fail",
                    rollback={"action": "test.undo_seen", "params": {"label": "b"}})])
    _engine(store).execute(_engine(store).start_manual(rb, "op"), rb)
    assert CALLS[-1] == "undo b after []"


def test_a_failing_step_without_rollback_fails_the_run(store) -> None:
    rb = _rb([_step("boom", "test.fail")])
    eng = _engine(store)
    run = eng.execute(eng.start_manual(rb, "op"), rb)
    assert run.state == "rolled_back" and "it failed on purpose" in run.error


ALERT = {"labels": {"alertname": "LedgerNoPrimary", "severity": "page", "service": "ledger"},
         "startsAt": "2026-11-24T00:00:00Z"}


def test_one_run_per_alert_and_never_on_a_resolved_one(store) -> None:
    rb = _rb([_step("one", "test.do", {"label": "a"})],
             trigger={"alert": "LedgerNoPrimary", "labels": {"service": "ledger"}})
    eng = _engine(store)
    firing = store.receive_alerts(parse_alerts([ALERT], 1.79e9), 1.79e9)[0]
    assert rb.matches(dict(firing.labels))
    first = eng.start_for_alert(rb, firing)
    assert first is not None
    eng.execute(first, rb)
    again = store.receive_alerts(parse_alerts([ALERT], 1.79e9), 1.79e9 + 5)[0]  # a resend
    assert eng.start_for_alert(rb, again) is None
    resolved = store.receive_alerts(parse_alerts([{**ALERT, "startsAt": "2026-11-24T01:00:00Z",
                                                   "endsAt": "2026-11-24T01:00:05Z"}], 1.8e9),
                                    1.8e9)[0]
    assert resolved.status == "resolved" and eng.start_for_alert(rb, resolved) is None


T0 = 1790013600.0                               # 2026-09-21T18:00:00Z


def _at(hour: int, minute: int = 0) -> str:
    return f"2026-09-21T{hour:02d}:{minute:02d}:00Z"


@pytest.fixture
def clocked(tmp_path: Path):
    """A store whose clock a test moves (`now[0]`), for alerts that expire."""
    now = [T0]
    with Store(tmp_path / "clocked.db", clock=lambda: now[0]) as s:
        yield s, now


def _firing(store, now: float, starts_at: str, **extra) -> object:
    return store.receive_alerts(parse_alerts([{**ALERT, "startsAt": starts_at, **extra}], now),
                                now)[0]


ON_LEDGER = {"trigger": {"alert": "LedgerNoPrimary", "labels": {"service": "ledger"}}}


def test_a_new_starts_at_for_the_same_alert_starts_no_second_run(clocked) -> None:
    """The alert is its labels: a forged or restarted sender's new startsAt is the same alert
    while a run for it is active, or acted and the alert has not resolved."""
    store, now = clocked
    rb = _rb([_step("one", "test.do", {"label": "a"})], **ON_LEDGER)
    eng = _engine(store)
    first = eng.start_for_alert(rb, _firing(store, T0, _at(16)))
    assert eng.start_for_alert(rb, _firing(store, T0, _at(16, 5))) is None     # while active
    eng.execute(first, rb)
    assert eng.start_for_alert(rb, _firing(store, T0, _at(16, 10))) is None    # acted, firing
    assert [r.id for r in store.runbook_runs()] == [first.id] and CALLS == ["a"]


def test_an_occurrence_that_began_after_the_run_ended_is_a_new_incident(clocked) -> None:
    """Prometheus restarted (the old occurrence never resolved in the store) or the condition
    came back after the fix: a startsAt after the earlier run's end starts a run, which its
    confirm check then judges; one from before that end is still the same incident. (A
    cluster test's failover loop once found its LedgerNoPrimary swallowed this way.)"""
    store, now = clocked
    rb = _rb([_step("one", "test.do", {"label": "a"})], **ON_LEDGER)
    eng = _engine(store)
    eng.execute(eng.start_for_alert(rb, _firing(store, T0, _at(17, 50))), rb)   # ends at T0
    now[0] = T0 + 120
    assert eng.start_for_alert(rb, _firing(store, now[0], _at(17, 55))) is None
    again = eng.start_for_alert(rb, _firing(store, now[0], _at(18, 1)))
    assert again is not None and again.state == "running"


def test_the_same_alert_starts_again_once_it_resolved_or_expired(clocked) -> None:
    store, now = clocked
    rb = _rb([_step("one", "test.do", {"label": "a"})], **ON_LEDGER)
    eng = _engine(store)
    eng.execute(eng.start_for_alert(rb, _firing(store, T0, _at(15))), rb)
    _firing(store, T0, _at(15), endsAt=_at(16))                    # Prometheus: resolved
    again = eng.start_for_alert(rb, _firing(store, T0, _at(16, 30)))
    assert again is not None and again.state == "running"
    eng.execute(again, rb)
    # firing, valid until T0 + 240 s (Prometheus resends before then): the same alert
    _firing(store, T0, _at(16, 30), endsAt=_at(18, 4))
    assert eng.start_for_alert(rb, _firing(store, T0, _at(16, 45))) is None
    now[0] = T0 + 300                          # no resend came: that occurrence is over
    later = _firing(store, now[0], _at(16, 50))
    assert eng.start_for_alert(rb, later) is not None


def test_a_run_that_acted_on_nothing_leaves_the_alert_free(clocked) -> None:
    """A forged alert that was not confirmed cannot keep the real one from its runbook."""
    store, now = clocked
    rb = _rb([_step("one", "test.do", {"label": "a"})], confirm=[{"action": "test.never",
                                                                 "within_s": 1}], **ON_LEDGER)
    eng = _engine(store, sleep=lambda s: None)
    forged = eng.execute(eng.start_for_alert(rb, _firing(store, T0, _at(16))), rb)
    assert forged.state == "not_confirmed"
    real = eng.start_for_alert(rb, _firing(store, T0, _at(16, 1)))
    assert real is not None and real.state == "running"


def test_concurrent_alerts_start_one_run_and_lock_the_target(tmp_path: Path) -> None:
    """Eight threads, each with its own connection, as the service runs them: the same alert
    with eight startsAt, and another runbook on the same target, start exactly one run."""
    path = tmp_path / "concurrent.db"
    Store(path).close()
    rb = _rb([_step("one", "test.do", {"label": "a"})], **ON_LEDGER)
    other = rb.model_copy(update={"name": "other-rb"})
    barrier = threading.Barrier(9)
    started: list = []

    def start(i: int) -> None:
        with Store(path) as own:
            alert = _firing(own, T0, _at(10, i))
            barrier.wait()
            started.append(_engine(own).start_for_alert(other if i == 8 else rb, alert))

    threads = [threading.Thread(target=start, args=(i,)) for i in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with Store(path) as store:
        runs = store.runbook_runs()
    [winner] = [r for r in runs if r.state == "running"]
    losers = [r for r in runs if r.id != winner.id]
    assert all(r.state == "skipped" and f"locked by run {winner.id} " in r.error
               for r in losers)
    if winner.runbook == "test-rb":      # its other seven startsAt are the incident it handles
        assert [r.runbook for r in losers] == ["other-rb"]
    else:                                # a skipped run handles nothing: each one is recorded
        assert {r.runbook for r in losers} == {"test-rb"}
        assert len({r.alert_starts_at for r in losers}) == 8


def _alerted(store, rb, eng, starts_at: str = "2026-11-24T00:00:00Z", **alert):
    firing = store.receive_alerts(parse_alerts([{**ALERT, "startsAt": starts_at, **alert}],
                                               1.79e9), 1.79e9)[0]
    return eng.start_for_alert(rb, firing)


def _confirmed_by(check: dict, **extra) -> Runbook:
    return _rb([_step("one", "test.do", {"label": "a"})], confirm=[check],
               trigger={"alert": "LedgerNoPrimary", "labels": {"service": "ledger"}}, **extra)


def test_an_unconfirmed_alert_ends_not_confirmed_having_acted_on_nothing(store) -> None:
    now = [1000.0]
    eng = _engine(store, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    rb = _confirmed_by({"action": "test.never", "within_s": 3})
    run = eng.execute(_alerted(store, rb, eng), rb)
    assert run.state == "not_confirmed" and CALLS == []
    assert run.error == ("not confirmed: test.never: ActionFailed: the condition does not "
                         "hold (checked for 3 s)")
    [check] = store.runbook_steps(run.id)
    assert (check.kind, check.name, check.state) == ("confirm", "confirm-0", "failed")
    assert check.output["polls"] > 1 and now[0] >= 1003     # asked until within_s passed


def test_a_condition_that_holds_within_the_bound_confirms_the_run(store) -> None:
    eng = _engine(store, sleep=lambda s: None)
    rb = _confirmed_by({"action": "test.settles", "within_s": 30})
    run = eng.execute(_alerted(store, rb, eng), rb)
    assert run.state == "succeeded" and CALLS == ["settles"] * 3 + ["a"]
    check = store.runbook_steps(run.id)[0]
    assert check.kind == "confirm" and check.output == {"held": True, "polls": 3}


def test_a_run_started_by_hand_is_confirmed_by_whoever_started_it(store) -> None:
    rb = _confirmed_by({"action": "test.never"})
    eng = _engine(store)
    run = eng.execute(eng.start_manual(rb, "operator:alice"), rb)
    assert run.state == "succeeded" and CALLS == ["a"]
    assert [s.kind for s in store.runbook_steps(run.id)] == ["step"]


def test_paused_automation_records_the_run_as_skipped_and_acts_on_nothing(store) -> None:
    rb = _rb([_step("one", "test.do", {"label": "a"})],
             trigger={"alert": "LedgerNoPrimary", "labels": {"service": "ledger"}})
    eng = _engine(store)
    store.set_automation_paused(True, "operator:amy", "patching the ledger hosts")
    firing = store.receive_alerts(parse_alerts([ALERT], 1.79e9), 1.79e9)[0]
    run = eng.start_for_alert(rb, firing)
    assert run.state == "skipped" and "paused by operator:amy: patching" in run.error
    assert CALLS == [] and store.runbook_steps(run.id) == []
    store.set_automation_paused(False, "operator:amy")
    later = store.receive_alerts(parse_alerts([{**ALERT, "startsAt": "2026-11-24T02:00:00Z"}],
                                              1.8e9), 1.8e9)[0]
    resumed = eng.start_for_alert(rb, later)
    assert eng.execute(resumed, rb).state == "succeeded" and CALLS == ["a"]


def test_one_active_run_per_target(store) -> None:
    rb = _rb([_step("wait", "test.do", {"label": "w"}, approval=True)],
             approval_timeout_s=30)
    eng = _engine(store)
    first = eng.start_manual(rb, "op")
    box = _in_thread(eng, first, rb)
    wait_for("first run waiting", lambda: store.get_runbook_run(first.id).state
             == "waiting_approval" or None, 10)
    second = eng.start_manual(rb, "op")
    assert second.state == "skipped" and f"locked by run {first.id}" in second.error
    store.decide(first.id, 0, "approve", "op")
    box["thread"].join(10)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_after_a_restart_a_run_interrupted_mid_step_fails_cleanly(store) -> None:
    rb = _rb([_step("first", "test.do", {"label": "a"},
                    rollback={"action": "test.undo", "params": {"label": "a"}}),
              _step("second", "test.slow", {"seconds": 1})])
    run = store.start_runbook_run("test-rb", "t1", "op", {}, pid=_dead_pid())
    done = store.start_step(run.id, 0, "first", "step", "test.do", "op", {"label": "a"})
    store.finish_step(done.id, "succeeded", {})
    store.start_step(run.id, 1, "second", "step", "test.slow", "op", {"seconds": 1})
    results = _engine(store).recover({"test-rb": rb})
    after = store.get_runbook_run(run.id)
    assert after.state == "rolled_back" and "restart" in after.error
    assert CALLS == ["undo a"] and "failed cleanly" in results[0][1]
    second = [s for s in store.runbook_steps(run.id) if s.name == "second"][0]
    assert second.state == "failed" and "restarted" in second.error


def test_after_a_restart_the_rollback_is_filled_from_the_runs_alert(store) -> None:
    """The engine resolves the runbook again from the labels the run recorded."""
    label = "{{ labels.instance_id }}"
    rb = _rb([_step("first", "test.do", {"label": label},
                    rollback={"action": "test.undo", "params": {"label": label}}),
              _step("second", "test.slow", {"seconds": 1})])
    run = store.start_runbook_run("test-rb", "t1", "controlplane", {
        "alert": "GatewayCrashLoop", "labels": {"instance_id": "gateway-1"}}, pid=_dead_pid())
    done = store.start_step(run.id, 0, "first", "step", "test.do", "op", {"label": "gateway-1"})
    store.finish_step(done.id, "succeeded", {})
    store.start_step(run.id, 1, "second", "step", "test.slow", "op", {"seconds": 1})
    _engine(store).recover({"test-rb": rb})
    assert store.get_runbook_run(run.id).state == "rolled_back" and CALLS == ["undo gateway-1"]


def test_after_a_restart_a_run_waiting_for_approval_resumes(store) -> None:
    rb = _rb([_step("first", "test.do", {"label": "a"}),
              _step("second", "test.do", {"label": "b"}, approval=True)])
    run = store.start_runbook_run("test-rb", "t1", "op", {}, pid=_dead_pid())
    done = store.start_step(run.id, 0, "first", "step", "test.do", "op", {"label": "a"})
    store.finish_step(done.id, "succeeded", {})
    store.start_step(run.id, 1, "second", "approval", "test.do", "on-call", {},
                     state="waiting")
    store.set_run_state(run.id, "waiting_approval")
    store.decide(run.id, 1, "approve", "oncall:carol")   # decided while we were down
    results = _engine(store).recover({"test-rb": rb})
    assert "resumed at step 1" in results[0][1]
    assert store.get_runbook_run(run.id).state == "succeeded" and CALLS == ["b"]
