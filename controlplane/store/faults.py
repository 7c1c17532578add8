"""Fault records for crash-safe injection.

Record the fault (with what reverting needs, when it expires and which process injects it)
and commit BEFORE injecting it; mark it injected after; mark it reverted when undone. A crash
anywhere leaves an open record, pending or injected, that `open_faults` returns so that the
supervisor's reaper (once it expired or its owner died) or a recover command can revert it
(reverts must be idempotent: a pending fault may or may not have taken effect).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from controlplane.errors import InvalidInput
from controlplane.store.audit import AuditRecords
from controlplane.store.models import Fault, from_json, to_json
from controlplane.store.records import require_text

__all__ = ["FaultRecords"]


class FaultRecords(AuditRecords):
    """Each injection, revert and failure is also an entry of the audit trail."""

    def record_fault(self, kind: str, target: str, revert: Mapping[str, object],
                     run_id: str | None = None, *, ttl_s: float | None = None,
                     owner_pid: int | None = None, owner_host: str | None = None) -> Fault:
        """A new pending fault, committed before this returns. With `ttl_s` it expires that
        long after now; `owner_pid`@`owner_host` is the process that injects (and should
        revert) it."""
        now = self._clock()
        if ttl_s is not None and not (isinstance(ttl_s, int | float) and 0 < ttl_s < 86_400):
            raise InvalidInput("must be a number of seconds above 0 and under a day",
                               field="ttl_s", value=ttl_s)
        return _fault(self._insert(
            "INSERT INTO faults (kind, target, run_id, state, revert, recorded_at, expires_at, "
            "owner_pid, owner_host) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
            (require_text(kind, "kind"), require_text(target, "target"), run_id,
             to_json(revert, "revert"), now, None if ttl_s is None else now + ttl_s,
             owner_pid, owner_host)))

    def mark_fault_injected(self, fault_id: int, at: float) -> Fault:
        return self._audited("fault.injected", self._transition(
            fault_id, "state = 'injected', injected_at = ?", (at,), "('pending')",
            "only a pending fault can be injected"))

    def mark_fault_reverted(self, fault_id: int, at: float,
                            detail: Mapping[str, object] | None = None) -> Fault:
        return self._audited("fault.reverted", self._transition(
            fault_id, "state = 'reverted', reverted_at = ?, revert_detail = ?",
            (at, to_json(detail or {}, "detail")), "('pending', 'injected')",
            "only an open fault can be reverted"))

    def mark_fault_failed(self, fault_id: int, error: str) -> Fault:
        """A failed injection closes a pending fault as failed; a failed revert keeps an
        injected fault open (to be reverted again) and records the error."""
        return self._audited("fault.failed", self._transition(
            fault_id, "state = CASE state WHEN 'pending' THEN 'failed' ELSE state END, "
            "error = ?", (error,), "('pending', 'injected')", "it is no longer open"))

    def _audited(self, action: str, fault: Fault) -> Fault:
        self.audit(f"chaos:{fault.run_id}" if fault.run_id else "chaos", action,
                   f"{fault.kind} {fault.target}", fault.state,
                   {"fault_id": fault.id, "error": fault.error,
                    "detail": dict(fault.revert_detail or {})})
        return fault

    def get_fault(self, fault_id: int) -> Fault | None:
        row = self._one("SELECT * FROM faults WHERE id = ?", (fault_id,))
        return None if row is None else _fault(row)

    def open_faults(self, run_id: str | None = None) -> list[Fault]:
        """Pending or injected faults, oldest first; those of one run if `run_id` is given."""
        rows = self._conn.execute(
            "SELECT * FROM faults WHERE state IN ('pending', 'injected') "
            "AND (? IS NULL OR run_id = ?) ORDER BY id", (run_id, run_id))
        return [_fault(row) for row in rows]

    def faults_of_run(self, run_id: str) -> list[Fault]:
        """Every fault of one run, whatever its state, oldest first."""
        rows = self._conn.execute("SELECT * FROM faults WHERE run_id = ? ORDER BY id", (run_id,))
        return [_fault(row) for row in rows]

    def _transition(self, fault_id: int, assignments: str, values: tuple[object, ...],
                    from_states: str, wanted: str) -> Fault:
        row = self._one(
            f"UPDATE faults SET {assignments} WHERE id = ? AND state IN {from_states} "
            "RETURNING *", (*values, fault_id))
        if row is None:
            raise self._refuse("faults", "fault", fault_id, wanted)
        return _fault(row)


def _fault(row: sqlite3.Row) -> Fault:
    return Fault(id=row["id"], kind=row["kind"], target=row["target"], run_id=row["run_id"],
                 state=row["state"], revert=from_json(row["revert"]) or {},
                 recorded_at=row["recorded_at"], injected_at=row["injected_at"],
                 reverted_at=row["reverted_at"], revert_detail=from_json(row["revert_detail"]),
                 error=row["error"], expires_at=row["expires_at"], owner_pid=row["owner_pid"],
                 owner_host=row["owner_host"])
