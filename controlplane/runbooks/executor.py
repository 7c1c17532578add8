"""The runbook engine: runs a runbook's steps in order, each with its timeout, retries and
verification, waits for approvals where the runbook asks for them, rolls back completed steps
when one fails (each rollback told what its step did), and records everything in the store.

Guarantees: a run an alert started acts only once its `confirm` checks saw the alert's
condition hold (else it ends `not_confirmed`, having acted on nothing); one run per alert,
the alert being its labels, not its startsAt (store/runbooks.py says when a new startsAt is a
new alert), and never on a resolved one; one active run per target; a dry run that only plans;
and after a restart of the control plane either a resumed run (one waiting for approval) or a
clean failure with rollback (one interrupted mid-step), never a silent hang.

A run executes its runbook resolved with the labels its trigger recorded (the alert's, or a
manual run's): parameter templates filled, every parameter checked; if that fails, the run
fails naming the step, the field and the value, before any step.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from controlplane.errors import ControlPlaneError, InvalidInput
from controlplane.host.procs import alive
from controlplane.platform.base import Platform
from controlplane.runbooks.actions import ACTIONS, ActionContext, ActionFailed
from controlplane.runbooks.model import Check, Runbook, Step, resolve
from controlplane.store import Store
from controlplane.store.alerts import AlertRecord
from controlplane.store.runbooks import RunbookRun

__all__ = ["RunbookEngine", "StepOutcome"]


@dataclass(frozen=True)
class StepOutcome:
    ok: bool
    state: str                     # succeeded / failed / timed_out
    output: dict[str, Any]
    error: str | None = None


class RunbookEngine:
    def __init__(self, platform: Platform, store: Store, *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 prometheus_url: str | None = None, poll_s: float = 0.2) -> None:
        self.platform = platform
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.prometheus_url = prometheus_url
        self.poll_s = poll_s

    # starting ----------------------------------------------------------------------------
    def start_for_alert(self, rb: Runbook, alert: AlertRecord) -> RunbookRun | None:
        """A run for a firing alert, or None: resolved, already handled, or target busy."""
        if alert.status != "firing":
            return None
        trigger = {"alert": alert.alertname, "labels": dict(alert.labels),
                   "fingerprint": alert.fingerprint, "starts_at": alert.starts_at}
        run = self._start(rb, f"controlplane (alert {alert.alertname})", trigger,
                          fingerprint=alert.fingerprint, starts_at=alert.starts_at)
        paused = self.store.automation_state()
        if run is not None and run.state == "running" and paused.paused:
            return self.store.set_run_state(           # recorded, never acted on
                run.id, "skipped", f"automation paused by {paused.actor}"
                + (f": {paused.reason}" if paused.reason else "")
                + "; `controlplane runbook resume` turns it back on")
        return run

    def start_manual(self, rb: Runbook, actor: str, dry_run: bool = False,
                     labels: dict[str, str] | None = None) -> RunbookRun | None:
        """A run started by hand; `labels` fill the runbook's templates as an alert's would."""
        trigger: dict[str, Any] = {"manual": True}
        if labels:
            trigger["labels"] = dict(labels)
        return self._start(rb, actor, trigger, dry_run=dry_run)

    def _start(self, rb: Runbook, actor: str, trigger: dict[str, Any], *,
               dry_run: bool = False, fingerprint: str | None = None,
               starts_at: float | None = None) -> RunbookRun | None:
        """The new run (skipped if its target is locked), or None: the alert has a run."""
        return self.store.start_runbook_run(
            rb.name, rb.target, actor, trigger, dry_run=dry_run,
            alert_fingerprint=fingerprint, alert_starts_at=starts_at, pid=os.getpid())

    # running -----------------------------------------------------------------------------
    def execute(self, run: RunbookRun, rb: Runbook, resume_at: int = 0) -> RunbookRun:
        resolved = self._resolve(run, rb)
        if isinstance(resolved, RunbookRun):
            return resolved
        rb = resolved
        ctx = ActionContext(self.platform, run.dry_run, run.id, dict(run.trigger),
                            self.prometheus_url, runbook=run.runbook)
        if resume_at == 0:
            reason = self._confirm(run, rb, ctx)
            if reason:
                return self.store.set_run_state(run.id, "not_confirmed", reason)
            reason = self._preconditions(run, rb, ctx)
            if reason:
                return self.store.set_run_state(run.id, "skipped", reason)
        done = [s for s in rb.steps[:resume_at]]
        for idx in range(resume_at, len(rb.steps)):
            step = rb.steps[idx]
            verdict = self._approve(run, rb, idx, step)
            if verdict != "approved":
                self._rollback(run, ctx, rb, done)
                state = "rejected" if verdict == "rejected" else "failed"
                return self.store.set_run_state(run.id, state, f"step {step.name}: {verdict}")
            result = self._run_step(run, ctx, idx, step)
            if not result.ok:
                rolled = self._rollback(run, ctx, rb, done + [step])
                return self.store.set_run_state(
                    run.id, "rolled_back" if rolled else "failed",
                    f"step {step.name} {result.state}: {result.error}")
            done.append(step)
        return self.store.set_run_state(run.id, "succeeded")

    def _resolve(self, run: RunbookRun, rb: Runbook) -> Runbook | RunbookRun:
        """The runbook filled from the run's trigger labels, or the run failed saying why."""
        try:
            return resolve(rb, dict(run.trigger.get("labels") or {}))
        except InvalidInput as err:
            return self.store.set_run_state(run.id, "failed", f"parameters: {err}")

    def _confirm(self, run: RunbookRun, rb: Runbook, ctx: ActionContext) -> str | None:
        """Why the alert's condition is not confirmed, or None when every check held. Only a
        run an alert started is checked: one started by hand is confirmed by its starter."""
        if run.alert_fingerprint is None:
            return None
        for i, check in enumerate(rb.confirm):
            result = self._poll(run, ctx, i, f"confirm-{i}", "confirm", check)
            if not result.ok:
                return (f"not confirmed: {check.describe()}: {result.error} "
                        f"(checked for {check.within_s:g} s)")
        return None

    def _preconditions(self, run: RunbookRun, rb: Runbook, ctx: ActionContext) -> str | None:
        for i, call in enumerate(rb.preconditions):
            result = self._attempt(run, ctx, i, f"precondition-{i}", "verify", call.action,
                                   call.params, 30)
            if not result.ok:
                return f"precondition {call.action} does not hold: {result.error}"
        return None

    def _approve(self, run: RunbookRun, rb: Runbook, idx: int, step: Step) -> str:
        if run.dry_run or not rb.needs_approval(step):
            return "approved"
        rule = {"approvers": rb.approvers, "sensitive": rb.sensitive,
                "requested_by": run.started_by}
        record = self.store.start_step(run.id, idx, step.name, "approval", step.action,
                                       "on-call", {**step.params, "approval_rule": rule},
                                       state="waiting")
        self.store.set_run_state(run.id, "waiting_approval")
        deadline = self.clock() + rb.approval_timeout_s
        while (decision := self.store.approval(run.id, idx)) is None:
            if self.clock() >= deadline:
                self.store.finish_step(record.id, "timed_out",
                                       error=f"no decision in {rb.approval_timeout_s:g} s")
                return f"approval timed out after {rb.approval_timeout_s:g} s"
            self.sleep(self.poll_s)
        state = "approved" if decision.decision == "approve" else "rejected"
        self.store.finish_step(record.id, state, {"by": decision.actor,
                                                  "reason": decision.reason})
        self.store.set_run_state(run.id, "running")
        return state

    def _run_step(self, run: RunbookRun, ctx: ActionContext, idx: int,
                  step: Step) -> StepOutcome:
        if run.dry_run and ACTIONS[step.action].mutates:
            rec = self.store.start_step(run.id, idx, step.name, "step", step.action,
                                        "dry-run", step.params)
            self.store.finish_step(rec.id, "skipped", {
                "plan": step.params, "verify": step.verify.describe() if step.verify else ""})
            return StepOutcome(True, "skipped", {})
        for attempt in range(1, step.retries + 2):
            result = self._attempt(run, ctx, idx, step.name, "step", step.action, step.params,
                                   step.timeout_s, attempt)
            if result.ok and step.verify is not None:
                result = self._poll(run, ctx, idx, f"{step.name}-verify", "verify", step.verify)
            if result.ok:
                return result
            if attempt <= step.retries:
                self.sleep(step.retry_delay_s)
        return result

    def _attempt(self, run: RunbookRun, ctx: ActionContext, idx: int, name: str, kind: str,
                 action: str, params: dict[str, Any], timeout_s: float,
                 attempt: int = 1) -> StepOutcome:
        rec = self.store.start_step(run.id, idx, name, kind, action, _actor(run), params,
                                    attempt)
        result = _call_with_timeout(ctx, action, params, timeout_s)
        self.store.finish_step(rec.id, result.state, result.output, result.error)
        return result

    def _poll(self, run: RunbookRun, ctx: ActionContext, idx: int, name: str, kind: str,
              check: Check) -> StepOutcome:
        """Ask `check` until it holds or `within_s` passed: one record, with its last answer
        and how many times it was asked."""
        deadline = self.clock() + check.within_s
        action, params = ("prometheus.expect", {"expr": check.promql}) if check.promql \
            else (check.action or "", check.params)
        rec = self.store.start_step(run.id, idx, name, kind, action, _actor(run), params)
        polls = 0
        while True:
            result = _call_with_timeout(ctx, action, params, max(1.0, check.within_s))
            polls += 1
            if result.ok or self.clock() >= deadline:
                self.store.finish_step(rec.id, result.state, {**result.output, "polls": polls},
                                       result.error)
                return result
            self.sleep(min(0.5, check.within_s / 10))

    def _rollback(self, run: RunbookRun, ctx: ActionContext, rb: Runbook,
                  steps: list[Step]) -> bool:
        """Undo the given steps, last first, each rollback told what its step did (`undo`:
        the outputs of its attempts that succeeded); True if every rollback succeeded."""
        ok = True
        for step in reversed(steps):
            if run.dry_run:
                continue
            idx = rb.steps.index(step)
            told = replace(ctx, undo=self._done_by(run.id, idx))
            for call in step.rollbacks():
                result = self._attempt(run, told, idx, f"{step.name}-rollback", "rollback",
                                       call.action, call.params, step.timeout_s)
                ok = ok and result.ok
        return ok

    def _done_by(self, run_id: int, idx: int) -> list[dict[str, Any]]:
        return [dict(s.output or {}) for s in self.store.runbook_steps(run_id)
                if s.idx == idx and s.kind == "step" and s.state == "succeeded"]

    # after a restart of the control plane ------------------------------------------------
    def recover(self, runbooks: dict[str, Runbook]) -> list[tuple[RunbookRun, str]]:
        """Runs left active by a process that is gone: resume the ones waiting for approval,
        fail (and roll back) the ones interrupted mid-step. Returns (run, what was done)."""
        out = []
        for run in self.store.runbook_runs(active=True, limit=1000):
            if run.pid == os.getpid() or (run.pid and alive(run.pid)):
                continue
            rb = runbooks.get(run.runbook)
            if rb is None:
                self.store.set_run_state(run.id, "failed", "runbook no longer exists")
                out.append((run, "failed: runbook gone"))
                continue
            out.append((run, self._recover_one(run, rb)))
        return out

    def _recover_one(self, run: RunbookRun, rb: Runbook) -> str:
        steps = self.store.runbook_steps(run.id)
        done_idx = {s.idx for s in steps if s.kind == "step" and s.state == "succeeded"}
        for s in steps:
            if s.state in ("running", "waiting"):
                self.store.finish_step(s.id, "failed" if s.state == "running" else "skipped",
                                       error="interrupted: the control plane restarted")
        resolved = self._resolve(run, rb)
        if isinstance(resolved, RunbookRun):
            return f"failed: {resolved.error}"
        rb = resolved
        ctx = ActionContext(self.platform, run.dry_run, run.id, dict(run.trigger),
                            self.prometheus_url, runbook=run.runbook)
        completed = [st for i, st in enumerate(rb.steps) if i in done_idx]
        if run.state == "waiting_approval":
            nxt = max(done_idx, default=-1) + 1
            self.store.set_run_state(run.id, "running")
            self.execute(run, rb, resume_at=nxt)
            return f"resumed at step {nxt} ({rb.steps[nxt].name})"
        rolled = self._rollback(run, ctx, rb, completed)
        self.store.set_run_state(run.id, "rolled_back" if rolled else "failed",
                                 "interrupted mid-step by a control-plane restart")
        return "failed cleanly (completed steps rolled back)"


def _actor(run: RunbookRun) -> str:
    return run.started_by


def _call_with_timeout(ctx: ActionContext, action: str, params: dict[str, Any],
                       timeout_s: float) -> StepOutcome:
    registered = ACTIONS[action]
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["output"] = registered.run(ctx, registered.params(**params)) or {}
        except (ActionFailed, ControlPlaneError, OSError, ValueError) as err:
            box["error"] = f"{type(err).__name__}: {err}"

    thread = threading.Thread(target=target, name=f"runbook-{action}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return StepOutcome(False, "timed_out", {}, f"no answer within {timeout_s:g} s")
    if "error" in box:
        return StepOutcome(False, "failed", {}, box["error"])
    return StepOutcome(True, "succeeded", box["output"])

