"""The runbook use cases (no cluster, test actions): a run reports its record and every step as
events carrying the run's id, an approval given through another store connection reaches the
waiting run, and bad decisions are refused naming the run."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import BaseModel, ConfigDict

from controlplane.application.events import Event
from controlplane.application.runbooks import (
    decide,
    pause_automation,
    resume_automation,
    run_runbook,
)
from controlplane.errors import InvalidInput
from controlplane.runbooks.actions import ACTIONS, action
from controlplane.runbooks.model import Runbook
from controlplane.store import Store
from controlplane.workspace import Workspace
from tests.support.net import wait_for

DONE: list[str] = []


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str


if "usecase.do" not in ACTIONS:
    @action("usecase.do", Label, "record a call")
    def _do(ctx, params: Label) -> dict:
        DONE.append(params.label)
        return {"did": params.label}


def _rb(target: str = "t1") -> Runbook:
    return Runbook.model_validate({
        "name": "usecase-rb", "description": "d", "target": target, "expected_rto_s": 5,
        "steps": [{"name": "first", "action": "usecase.do", "params": {"label": "first"}},
                  {"name": "risky", "action": "usecase.do", "params": {"label": "risky"},
                   "approval": True}]})


@pytest.fixture
def platform(tmp_path: Path) -> SimpleNamespace:
    """Only the workspace: the test actions act on nothing."""
    DONE.clear()
    return SimpleNamespace(workspace=Workspace(tmp_path))


def _run_in_thread(platform, events: list[Event]) -> dict:
    box: dict = {}

    def work() -> None:
        box["run"] = run_runbook(platform, _rb(), "operator:alice", sink=events.append)
    box["thread"] = threading.Thread(target=work, daemon=True)
    box["thread"].start()
    return box


def test_a_run_reports_its_record_and_steps_and_takes_an_approval_from_elsewhere(
        platform) -> None:
    events: list[Event] = []
    box = _run_in_thread(platform, events)
    wait_for("a step waiting for approval",
             lambda: any(e.kind == "waiting" for e in events) or None, 15)
    assert DONE == ["first"]                           # nothing risky before the decision
    with Store(platform.workspace.store_path) as other:
        approval = decide(other, int(events[0].record), None, reject=False,
                          actor="oncall:bob")
    box["thread"].join(15)
    run = box["run"]
    assert run.state == "succeeded" and DONE == ["first", "risky"]
    assert approval.idx == 1 and approval.actor == "oncall:bob"
    assert events[0].kind == "recorded" and events[0].data["run_id"] == run.id
    assert {e.record for e in events} == {str(run.id)}
    ended = [e.data["name"] for e in events if e.kind == "step"]
    assert "first" in ended and "risky" in ended
    assert events[-1].kind == "finished" and events[-1].data["state"] == "succeeded"


def test_decisions_are_refused_for_an_unknown_run_or_one_that_waits_for_nothing(
        platform) -> None:
    run = run_runbook(platform, _rb().model_copy(update={"steps": _rb().steps[:1]}),
                      "operator:alice")
    assert run.state == "succeeded"
    with Store(platform.workspace.store_path) as store:
        with pytest.raises(InvalidInput, match="no such run"):
            decide(store, run.id + 100, None, reject=True, actor="oncall:bob")
        with pytest.raises(InvalidInput, match="waits for no approval"):
            decide(store, run.id, None, reject=False, actor="oncall:bob")


def test_a_run_on_a_locked_target_is_refused_and_recorded_as_skipped(platform) -> None:
    events: list[Event] = []
    box = _run_in_thread(platform, events)                 # holds t1 while it waits
    wait_for("the first run waiting", lambda: any(e.kind == "waiting" for e in events) or None,
             15)
    with pytest.raises(InvalidInput, match="locked by run"):
        run_runbook(platform, _rb(), "operator:carol")
    with Store(platform.workspace.store_path) as store:
        states = sorted(r.state for r in store.runbook_runs(limit=5))
        decide(store, int(events[0].record), None, reject=True, actor="oncall:bob")
    box["thread"].join(15)
    assert "skipped" in states and box["run"].state == "rejected"


def test_pause_and_resume_record_who_did_it(platform) -> None:
    with Store(platform.workspace.store_path) as store:
        paused = pause_automation(store, "oncall:bob", "maintenance")
        assert paused.paused and paused.actor == "oncall:bob" and paused.reason == "maintenance"
        assert store.automation_state().paused
        resumed = resume_automation(store, "oncall:dana")
        assert not resumed.paused and not store.automation_state().paused
