"""The closed loop as evidence: after a fault, which alert reached the control plane and when,
which runbook it started, when that runbook first acted, and how the run ended.

Everything is read back from the store the control-plane service writes (alert intake and
runbook records), so the drill reports what really happened, not what it expected to happen.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from controlplane.store import Store
from controlplane.store.runbooks import ACTIVE_RUN_STATES

__all__ = ["LoopEvidence", "collect_loop"]


@dataclass(frozen=True)
class LoopEvidence:
    alert: str
    runbook: str
    alerted_at: float | None = None          # first received by the control plane's intake
    alert_active_at: float | None = None     # when Prometheus saw the condition start
    run_id: int | None = None
    run_state: str | None = None             # succeeded, failed, skipped, ... or None: no run
    run_error: str | None = None
    run_started_at: float | None = None
    first_action_at: float | None = None     # the first step that acts (not a check) began
    first_action: str | None = None
    run_ended_at: float | None = None
    steps: list[dict[str, object]] = field(default_factory=list)

    def events(self) -> list[tuple[str, float, str]]:
        """(kind, at, message) for the drill timeline."""
        out: list[tuple[str, float, str]] = []
        if self.alerted_at is not None:
            out.append(("alerted", self.alerted_at,
                        f"alert {self.alert} received by the control plane"))
        if self.run_started_at is not None:
            out.append(("runbook_started", self.run_started_at,
                        f"runbook {self.runbook} run {self.run_id} started"))
        if self.first_action_at is not None:
            out.append(("first_action", self.first_action_at,
                        f"runbook step {self.first_action} began"))
        if self.run_ended_at is not None:
            out.append(("runbook_done", self.run_ended_at,
                        f"runbook run {self.run_id} {self.run_state}"
                        + (f": {self.run_error}" if self.run_error else "")))
        return out

    def as_dict(self, origin: float) -> dict[str, object]:
        def rel(x: float | None) -> float | None:
            return None if x is None else round(x - origin, 3)
        return {"alert": self.alert, "runbook": self.runbook, "alerted_s": rel(self.alerted_at),
                "alert_active_s": rel(self.alert_active_at), "run_id": self.run_id,
                "run_state": self.run_state, "run_error": self.run_error,
                "runbook_started_s": rel(self.run_started_at),
                "first_action_s": rel(self.first_action_at), "first_action": self.first_action,
                "runbook_done_s": rel(self.run_ended_at), "steps": self.steps}


def _gather(store: Store, alert: str, runbook: str, since: float) -> LoopEvidence:
    alerts = [a for a in store.alert_history(limit=50, alertname=alert)
              if a.first_received_at >= since]
    first = min(alerts, key=lambda a: a.first_received_at, default=None)
    runs = [r for r in store.runbook_runs(limit=50)
            if r.runbook == runbook and r.started_at >= since and not r.dry_run]
    run = min(runs, key=lambda r: r.started_at, default=None)
    ev = LoopEvidence(alert, runbook,
                      alerted_at=first.first_received_at if first else None,
                      alert_active_at=first.starts_at if first else None)
    if run is None:
        return ev
    steps = store.runbook_steps(run.id)
    acting = [s for s in steps if s.kind == "step" and s.state != "waiting"]
    return LoopEvidence(
        alert, runbook, ev.alerted_at, ev.alert_active_at, run.id, run.state, run.error,
        run.started_at, acting[0].started_at if acting else None,
        acting[0].name if acting else None, run.ended_at,
        [{"name": s.name, "kind": s.kind, "action": s.action, "state": s.state,
          "attempt": s.attempt, "started_s": round(s.started_at - since, 3),
          "took_s": None if s.ended_at is None else round(s.ended_at - s.started_at, 3),
          "error": s.error} for s in steps])


async def collect_loop(store: Store, alert: str, runbook: str, since: float,
                       wait_s: float = 20.0) -> LoopEvidence:
    """The loop's evidence since `since`, waiting up to `wait_s` for the alert to arrive and for
    the run it started to finish (a run still active after that is reported as it stands)."""
    deadline = time.time() + wait_s
    while True:
        ev = await asyncio.to_thread(_gather, store, alert, runbook, since)
        done = ev.alerted_at is not None and (
            ev.run_state is not None and ev.run_state not in ACTIVE_RUN_STATES)
        if done or time.time() >= deadline:
            return ev
        await asyncio.sleep(0.5)
