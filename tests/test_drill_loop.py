"""The closed-loop evidence a drill reads back from the store: the alert the control plane
received after the fault, the runbook run it started, its first acting step, and its end. Uses
a real store with records written the way the intake and the engine write them (no cluster)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from controlplane.drills.loop import collect_loop
from controlplane.drills.report import render_outcome
from controlplane.observe.alerts import parse_alerts
from controlplane.store import Store
from tests.test_drill_report import _outcome


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


ALERT = {"labels": {"alertname": "LedgerNoPrimary", "severity": "page", "service": "ledger"},
         "startsAt": "2026-11-24T00:00:00Z"}


def _records(path: Path, fault: float) -> int:
    clock = Clock(fault - 100)
    with Store(path, clock=clock) as store:
        # an older alert and run, before the fault: not part of this drill
        store.receive_alerts(parse_alerts([{**ALERT, "startsAt": "2026-11-23T00:00:00Z"}],
                                          fault - 100), fault - 100)
        store.start_runbook_run("ledger-failover", "ledger", "controlplane", {})
        clock.t = fault + 3.2
        store.receive_alerts(parse_alerts([ALERT], fault + 3.2), fault + 3.2)
        run = store.start_runbook_run("ledger-failover", "ledger", "controlplane (alert)", {},
                                      alert_fingerprint="fp", alert_starts_at=fault + 3)
        clock.t = fault + 3.3
        check = store.start_step(run.id, 0, "precondition", "verify", "probe.ledger_healthy",
                                 "controlplane", {})
        store.finish_step(check.id, "succeeded")
        clock.t = fault + 3.4
        step = store.start_step(run.id, 0, "promote-sync-standby", "step", "ledger.failover",
                                "controlplane", {})
        clock.t = fault + 3.5
        store.finish_step(step.id, "succeeded", {"lease_deleted": True})
        clock.t = fault + 9.0
        store.set_run_state(run.id, "succeeded")
        return run.id


def test_the_loop_is_read_back_from_the_store_and_shown_in_the_report(tmp_path: Path) -> None:
    fault = 1.79e9
    run_id = _records(tmp_path / "cp.db", fault)
    with Store(tmp_path / "cp.db") as store:
        loop = asyncio.run(collect_loop(store, "LedgerNoPrimary", "ledger-failover", fault,
                                        wait_s=0))
    assert loop.run_id == run_id and loop.run_state == "succeeded"
    assert abs(loop.alerted_at - (fault + 3.2)) < 1e-6
    assert loop.first_action == "promote-sync-standby"        # the check is not an action
    assert abs(loop.first_action_at - (fault + 3.4)) < 1e-6
    assert [k for k, _, _ in loop.events()] == ["alerted", "runbook_started", "first_action",
                                                "runbook_done"]
    d = loop.as_dict(fault)
    assert d["alerted_s"] == 3.2 and d["runbook_done_s"] == 9.0 and len(d["steps"]) == 2

    base = _outcome()
    o = type(base)(**{**base.__dict__, "fault_at": fault, "loop": loop})
    console = Console(width=160, record=True)
    console.print(render_outcome(o, 3))
    text = console.export_text()
    assert "alert at the control plane" in text and "3.20 s" in text
    assert f"run {run_id} succeeded, first action 3.40 s" in text


def test_no_alert_and_no_run_are_reported_as_missing_not_invented(tmp_path: Path) -> None:
    with Store(tmp_path / "cp.db") as store:
        loop = asyncio.run(collect_loop(store, "LedgerNoPrimary", "ledger-failover", 1.79e9,
                                        wait_s=0))
    assert loop.alerted_at is None and loop.run_id is None and loop.events() == []
