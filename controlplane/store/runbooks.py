"""Runbook run records: the run, each step (who or what did it, when, input, output,
result) and the approvals given or refused.

One run per alert. An alert is its identity (its fingerprint: its labels), not its startsAt:
a new startsAt for the same labels starts no new run of a runbook while an earlier run of it
for those labels is active, or acted on an occurrence of the alert that is still firing (not
resolved, not past its endsAt) and the new occurrence began before that run ended: one that
begins after it (the condition back after a fix, or Prometheus restarted and lost the old
occurrence's resolution) is a new incident, and the runbook's confirm check decides. A run
that acted on nothing (`skipped`, `not_confirmed`) does not count, so a forged alert cannot
keep the real one from starting its runbook. A resend (same startsAt) never starts a second
run."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from controlplane.errors import InvalidInput
from controlplane.store.audit import AuditRecords
from controlplane.store.models import JsonObject, from_json, to_json

__all__ = ["ACTED_ON_NOTHING", "ACTIVE_RUN_STATES", "Approval", "AutomationState",
           "RunbookRecords", "RunbookRun", "RunbookStep"]

ACTIVE_RUN_STATES = ("running", "waiting_approval")
ACTED_ON_NOTHING = ("skipped", "not_confirmed")

# an earlier run of this runbook for this alert identity that holds it (see the docstring)
_HANDLED = f"""SELECT r.id FROM runbook_runs r WHERE r.runbook = ? AND r.alert_fingerprint = ?
    AND (r.state IN {ACTIVE_RUN_STATES}
         OR (r.state NOT IN {ACTED_ON_NOTHING} AND ? <= r.ended_at AND EXISTS (
             SELECT 1 FROM alerts a WHERE a.fingerprint = r.alert_fingerprint
             AND a.starts_at = r.alert_starts_at AND a.status = 'firing'
             AND (a.ends_at IS NULL OR a.ends_at > ?))))
    LIMIT 1"""


@dataclass(frozen=True, slots=True)
class RunbookRun:
    id: int
    runbook: str
    target: str
    state: str
    dry_run: bool
    started_by: str
    alert_fingerprint: str | None
    alert_starts_at: float | None
    trigger: JsonObject
    pid: int | None
    started_at: float
    ended_at: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class RunbookStep:
    id: int
    run_id: int
    idx: int
    name: str
    kind: str
    action: str
    state: str
    attempt: int
    actor: str
    input: JsonObject
    output: JsonObject | None
    error: str | None
    started_at: float
    ended_at: float | None


@dataclass(frozen=True, slots=True)
class Approval:
    run_id: int
    idx: int
    decision: str
    actor: str
    reason: str | None
    at: float


@dataclass(frozen=True, slots=True)
class AutomationState:
    """Whether alerts may start runbooks; who paused them, when and why."""

    paused: bool
    reason: str | None
    actor: str | None
    at: float | None


class RunbookRecords(AuditRecords):
    def set_automation_paused(self, paused: bool, actor: str,
                              reason: str | None = None) -> AutomationState:
        self._conn.execute(
            "INSERT INTO automation_pause (id, paused, reason, actor, at) VALUES (1, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET paused = excluded.paused, reason = excluded.reason,"
            " actor = excluded.actor, at = excluded.at",
            (int(paused), reason, actor, self._clock()))
        self.audit(actor, "automation.pause" if paused else "automation.resume", "runbooks",
                   "ok", {"reason": reason})
        return self.automation_state()

    def automation_state(self) -> AutomationState:
        row = self._one("SELECT * FROM automation_pause WHERE id = 1", ())
        if row is None:
            return AutomationState(False, None, None, None)
        return AutomationState(bool(row["paused"]), row["reason"], row["actor"], row["at"])

    def start_runbook_run(self, runbook: str, target: str, started_by: str,
                          trigger: Mapping[str, object], *, dry_run: bool = False,
                          alert_fingerprint: str | None = None,
                          alert_starts_at: float | None = None,
                          pid: int | None = None) -> RunbookRun | None:
        """A new running run, or recorded as skipped when another run holds the target (a dry
        run holds none); None if this alert already has a run of this runbook. Checked and
        written in one transaction, so concurrent alerts never start two."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            run = self._start_run(runbook, target, started_by, trigger, dry_run,
                                  alert_fingerprint, alert_starts_at, pid)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return run

    def _start_run(self, runbook: str, target: str, started_by: str,
                   trigger: Mapping[str, object], dry_run: bool, fingerprint: str | None,
                   starts_at: float | None, pid: int | None) -> RunbookRun | None:
        now = self._clock()
        if fingerprint is not None and self._one(
                _HANDLED, (runbook, fingerprint, starts_at if starts_at is not None else now, now)):
            return None
        holder = None if dry_run else self._one(
            "SELECT id, runbook, state FROM runbook_runs WHERE target = ? AND state IN "
            f"{ACTIVE_RUN_STATES} ORDER BY id DESC LIMIT 1", (target,))
        state, ended, error = ("running", None, None) if holder is None else (
            "skipped", now, f"target {target} is locked by run {holder['id']} "
            f"({holder['runbook']}, {holder['state']})")
        try:
            return _run(self._insert(
                "INSERT INTO runbook_runs (runbook, target, state, dry_run, started_by, "
                "alert_fingerprint, alert_starts_at, trigger, pid, started_at, ended_at, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (runbook, target, state, int(dry_run), started_by, fingerprint, starts_at,
                 to_json(trigger, "trigger"), pid, now, ended, error)))
        except sqlite3.IntegrityError:
            return None                               # a resend: this startsAt has its run

    def set_run_state(self, run_id: int, state: str, error: str | None = None) -> RunbookRun:
        final = state not in ACTIVE_RUN_STATES
        row = self._one(
            "UPDATE runbook_runs SET state = ?, error = COALESCE(?, error), "
            "ended_at = CASE WHEN ? THEN ? ELSE ended_at END WHERE id = ? RETURNING *",
            (state, error, final, self._clock(), run_id))
        if row is None:
            raise InvalidInput("no runbook run with this id", field="run_id", value=run_id)
        return _run(row)

    def get_runbook_run(self, run_id: int) -> RunbookRun | None:
        row = self._one("SELECT * FROM runbook_runs WHERE id = ?", (run_id,))
        return None if row is None else _run(row)

    def runbook_runs(self, limit: int = 50, active: bool = False,
                     target: str | None = None) -> list[RunbookRun]:
        rows = self._conn.execute(
            "SELECT * FROM runbook_runs WHERE (? = 0 OR state IN ('running', "
            "'waiting_approval')) AND (? IS NULL OR target = ?) ORDER BY id DESC LIMIT ?",
            (int(active), target, target, limit))
        return [_run(r) for r in rows]

    def start_step(self, run_id: int, idx: int, name: str, kind: str, action: str, actor: str,
                   input: Mapping[str, object], attempt: int = 1,
                   state: str = "running") -> RunbookStep:
        return _step(self._insert(
            "INSERT INTO runbook_steps (run_id, idx, name, kind, action, state, attempt, actor, "
            "input, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, idx, name, kind, action, state, attempt, actor, to_json(input, "input"),
             self._clock())))

    def finish_step(self, step_id: int, state: str, output: Mapping[str, object] | None = None,
                    error: str | None = None) -> RunbookStep:
        row = self._one("UPDATE runbook_steps SET state = ?, output = ?, error = ?, ended_at = ? "
                        "WHERE id = ? RETURNING *",
                        (state, to_json(output or {}, "output"), error, self._clock(), step_id))
        if row is None:
            raise InvalidInput("no runbook step with this id", field="step_id", value=step_id)
        step = _step(row)
        self.audit(step.actor, f"runbook.{step.kind}", f"run {step.run_id} step {step.idx} "
                   f"{step.name}", state, {"action": step.action, "error": error})
        return step

    def runbook_steps(self, run_id: int) -> list[RunbookStep]:
        rows = self._conn.execute("SELECT * FROM runbook_steps WHERE run_id = ? ORDER BY id",
                                  (run_id,))
        return [_step(r) for r in rows]

    def decide(self, run_id: int, idx: int, decision: str, actor: str,
               reason: str | None = None) -> Approval:
        if decision not in ("approve", "reject"):
            raise InvalidInput("approve or reject", field="decision", value=decision)
        try:
            self._insert("INSERT INTO runbook_approvals (run_id, idx, decision, actor, reason, "
                         "at) VALUES (?, ?, ?, ?, ?, ?)",
                         (run_id, idx, decision, actor, reason, self._clock()))
        except sqlite3.IntegrityError:
            raise InvalidInput("this step was already decided (or the run does not exist)",
                               field="step", value=f"run {run_id} step {idx}") from None
        found = self.approval(run_id, idx)
        assert found is not None
        self.audit(actor, f"runbook.{decision}", f"run {run_id} step {idx}", "ok",
                   {"reason": reason})
        return found

    def vote(self, run_id: int, idx: int, actor: str, decision: str, reason: str | None,
             second_factor: bool) -> list[Approval]:
        """One person's vote on a step under the two-person rule; every vote so far. A second
        vote by the same person is refused."""
        try:
            self._insert("INSERT INTO runbook_votes (run_id, idx, actor, decision, reason, "
                         "second_factor, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (run_id, idx, actor, decision, reason, int(second_factor),
                          self._clock()))
        except sqlite3.IntegrityError:
            raise InvalidInput(f"{actor} already voted on this step; another person must "
                               "approve", field="actor", value=actor) from None
        self.audit(actor, f"runbook.vote.{decision}", f"run {run_id} step {idx}", "ok",
                   {"reason": reason, "second_factor": second_factor})
        return self.votes(run_id, idx)

    def votes(self, run_id: int, idx: int) -> list[Approval]:
        rows = self._conn.execute("SELECT * FROM runbook_votes WHERE run_id = ? AND idx = ? "
                                  "ORDER BY id", (run_id, idx))
        return [Approval(r["run_id"], r["idx"], r["decision"], r["actor"], r["reason"],
                         r["at"]) for r in rows]

    def approval(self, run_id: int, idx: int) -> Approval | None:
        row = self._one("SELECT * FROM runbook_approvals WHERE run_id = ? AND idx = ?",
                        (run_id, idx))
        if row is None:
            return None
        return Approval(row["run_id"], row["idx"], row["decision"], row["actor"], row["reason"],
                        row["at"])


def _run(row: sqlite3.Row) -> RunbookRun:
    return RunbookRun(row["id"], row["runbook"], row["target"], row["state"],
                      bool(row["dry_run"]), row["started_by"], row["alert_fingerprint"],
                      row["alert_starts_at"], from_json(row["trigger"]) or {}, row["pid"],
                      row["started_at"], row["ended_at"], row["error"])


def _step(row: sqlite3.Row) -> RunbookStep:
    return RunbookStep(row["id"], row["run_id"], row["idx"], row["name"], row["kind"],
                       row["action"], row["state"], row["attempt"], row["actor"],
                       from_json(row["input"]) or {}, from_json(row["output"]),
                       row["error"], row["started_at"], row["ended_at"])
