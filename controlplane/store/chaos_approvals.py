"""Approval requests of experiments under a guardrails profile that asks for the two-person
rule: the request (what to run, under which profile, who asked, how many approvers), each
person's vote, and the decision. A request moves waiting -> approved -> released (the run it
allows started), or waiting -> rejected; every move is audited."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from controlplane.errors import InvalidInput
from controlplane.store.audit import AuditRecords
from controlplane.store.records import require_text

__all__ = ["APPROVAL_STATES", "ChaosApproval", "ChaosApprovalRecords", "ChaosVote"]

APPROVAL_STATES = ("waiting", "approved", "rejected", "released")


@dataclass(frozen=True, slots=True)
class ChaosApproval:
    id: int
    target: str
    policy: str
    requested_by: str
    approvers: int
    state: str
    decided_by: str | None
    reason: str | None
    requested_at: float
    decided_at: float | None


@dataclass(frozen=True, slots=True)
class ChaosVote:
    request_id: int
    actor: str
    decision: str
    reason: str | None
    second_factor: bool
    at: float


class ChaosApprovalRecords(AuditRecords):
    def request_chaos_approval(self, target: str, policy: str, requested_by: str,
                               approvers: int) -> ChaosApproval:
        found = _approval(self._insert(
            "INSERT INTO chaos_approvals (target, policy, requested_by, approvers, "
            "requested_at) VALUES (?, ?, ?, ?, ?)",
            (require_text(target, "target"), require_text(policy, "policy"),
             require_text(requested_by, "requested_by"), approvers, self._clock())))
        self.audit(requested_by, "chaos.approval.request", f"chaos approval {found.id}", "ok",
                   {"target": target, "policy": policy, "approvers": approvers})
        return found

    def get_chaos_approval(self, request_id: int) -> ChaosApproval | None:
        row = self._one("SELECT * FROM chaos_approvals WHERE id = ?", (request_id,))
        return None if row is None else _approval(row)

    def chaos_approvals(self, state: str | None = None, limit: int = 50) -> list[ChaosApproval]:
        rows = self._conn.execute("SELECT * FROM chaos_approvals WHERE (? IS NULL OR state = ?)"
                                  " ORDER BY id DESC LIMIT ?", (state, state, limit))
        return [_approval(r) for r in rows]

    def chaos_vote(self, request_id: int, actor: str, decision: str, reason: str | None,
                   second_factor: bool) -> list[ChaosVote]:
        """One person's vote on a request; every vote so far. A second vote by the same
        person is refused."""
        try:
            self._insert("INSERT INTO chaos_approval_votes (request_id, actor, decision, "
                         "reason, second_factor, at) VALUES (?, ?, ?, ?, ?, ?)",
                         (request_id, actor, decision, reason, int(second_factor),
                          self._clock()))
        except sqlite3.IntegrityError:
            raise InvalidInput(f"{actor} already voted on this request; another person must "
                               "approve", field="actor", value=actor) from None
        self.audit(actor, f"chaos.vote.{decision}", f"chaos approval {request_id}", "ok",
                   {"reason": reason, "second_factor": second_factor})
        return self.chaos_votes(request_id)

    def chaos_votes(self, request_id: int) -> list[ChaosVote]:
        rows = self._conn.execute("SELECT * FROM chaos_approval_votes WHERE request_id = ? "
                                  "ORDER BY id", (request_id,))
        return [ChaosVote(r["request_id"], r["actor"], r["decision"], r["reason"],
                          bool(r["second_factor"]), r["at"]) for r in rows]

    def settle_chaos_approval(self, request_id: int, state: str, actor: str,
                              reason: str | None = None, *, was: str = "waiting"
                              ) -> ChaosApproval:
        """Move a request from `was` to `state` (audited as chaos.approval.<state>); refused
        when it is no longer in `was`."""
        row = self._one("UPDATE chaos_approvals SET state = ?, decided_by = COALESCE(?, "
                        "decided_by), reason = COALESCE(?, reason), decided_at = ? "
                        "WHERE id = ? AND state = ? RETURNING *",
                        (state, actor if state != "released" else None, reason,
                         self._clock(), request_id, was))
        if row is None:
            now = self.get_chaos_approval(request_id)
            raise InvalidInput(f"the request is {now.state if now else 'unknown'}, not {was}",
                               field="request_id", value=request_id,
                               fix="See `controlplane chaos approvals`")
        self.audit(actor, f"chaos.approval.{state}", f"chaos approval {request_id}", "ok",
                   {"reason": reason})
        return _approval(row)


def _approval(row: sqlite3.Row) -> ChaosApproval:
    return ChaosApproval(row["id"], row["target"], row["policy"], row["requested_by"],
                         row["approvers"], row["state"], row["decided_by"], row["reason"],
                         row["requested_at"], row["decided_at"])
