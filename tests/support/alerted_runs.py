"""A runbook run started by an alert, as the service starts one, on a platform and a
Prometheus a test gives (tests/support/fake_prometheus.py), with a clock that moves only when
the engine sleeps: a check or verification that never holds ends at once. And `footprint`,
what any action on a cluster changes, to show that a run changed nothing."""

from __future__ import annotations

from typing import Any

from controlplane.observe.alerts import parse_alerts
from controlplane.platform import Platform
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import Runbook
from controlplane.store import Store
from controlplane.store.runbooks import RunbookRun, RunbookStep

__all__ = ["NOW", "footprint", "run_for_alert"]

NOW = 1.79e9


def run_for_alert(platform: Platform, prometheus_url: str, rb: Runbook,
                  labels: dict[str, str], approve: bool = False
                  ) -> tuple[RunbookRun, list[RunbookStep]]:
    """The run an alert with `labels` starts, executed to its end (`approve`: its first step's
    approval given beforehand), and its steps."""
    now = [NOW]
    with Store(platform.workspace.store_path) as store:
        alert = store.receive_alerts(parse_alerts([{
            "labels": labels, "startsAt": "2026-11-24T00:00:00Z"}], NOW), NOW)[0]
        engine = RunbookEngine(platform, store, prometheus_url=prometheus_url, poll_s=0.01,
                               clock=lambda: now[0],
                               sleep=lambda s: now.__setitem__(0, now[0] + s))
        run = engine.start_for_alert(rb, alert)
        assert run is not None and run.state == "running", run
        if approve:
            store.decide(run.id, 0, "approve", "oncall:bob")
        done = engine.execute(run, rb)
        return done, store.runbook_steps(run.id)


def footprint(platform: Platform) -> dict[str, Any]:
    """Every instance's life and state, the scale operations, the services' own faults, and
    whether anyone was notified."""
    faults = platform.service_faults()
    instances = platform.info().instances
    return {"lives": [(i.id, i.incarnation, i.state) for i in instances],
            "scaled": getattr(platform, "scale_reports", list)(),
            "faults": {i.id: faults.fault(i.id) for i in instances
                       if i.kind in ("gateway", "matcher", "marketdata") and i.running},
            "notified": platform.workspace.notifications_log.exists()}
