"""The success bodies of the routes that have a model yet: the handlers build their answers
with these, and the OpenAPI document describes those routes' 200 (and 202) from the same
models, so Schemathesis checks their fields. The other routes' bodies are described only as
JSON objects or arrays (see openapi.py)."""

from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, create_model

from controlplane.application.chaos_approvals import ExperimentDecision
from controlplane.store.chaos_approvals import ChaosApproval, ChaosVote

__all__ = ["REPLIES", "AutomationReply", "ChaosApprovalReply", "ChaosApprovalsReply",
           "ChaosVoteReply", "DecisionReply", "LaunchReply", "LaunchesReply", "LoginReply",
           "VoteReply", "WhoamiReply", "record_reply"]


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


def record_reply(record: type, name: str, **extra: Any) -> type[_Reply]:
    """The reply model of a record dataclass: one field per field of `record`, typed as it
    is, and `extra` (name=(type, default)) for what the route adds (the ISO times, nested
    lists), so a field list is written once, in the dataclass."""
    hints = get_type_hints(record)
    fields: dict[str, Any] = {f.name: (hints[f.name], ...) for f in dataclasses.fields(record)}
    model: type[_Reply] = create_model(name, __base__=_Reply, **fields, **extra)
    return model


class WhoamiReply(_Reply):
    name: str
    role: str
    permissions: list[str]


class DecisionReply(_Reply):
    run_id: int
    idx: int
    decision: str          # approve, reject, or pending (more approvals needed)
    actor: str
    have: int
    needed: int


class AutomationReply(_Reply):
    paused: bool
    reason: str | None
    actor: str | None
    at: float | None


class LaunchReply(_Reply):
    id: str
    kind: str
    argv: list[str]
    actor: str
    pid: int
    started_at: float
    log: str
    exit_code: int | None
    running: bool
    approval: int | None = None      # the chaos approval request the run waits on
    output_tail: str | None = None


class LaunchesReply(_Reply):
    launches: list[LaunchReply]


ChaosVoteReply = record_reply(ChaosVote, "ChaosVoteReply")
ChaosApprovalReply = record_reply(ChaosApproval, "ChaosApprovalReply",
                                  requested_at_iso=(str, ...), decided_at_iso=(str | None, ...),
                                  votes=(list[ChaosVoteReply], ...))
VoteReply = record_reply(ExperimentDecision, "VoteReply")


class ChaosApprovalsReply(_Reply):
    approvals: list[ChaosApprovalReply]     # type: ignore[valid-type]


class LoginReply(_Reply):
    user: str
    role: str
    csrf_token: str
    expires_at: float


# (method, route) -> (status, model)
REPLIES: dict[tuple[str, str], tuple[str, type[_Reply]]] = {
    ("GET", "/api/v1/whoami"): ("200", WhoamiReply),
    ("POST", "/api/v1/runbooks/runs/{run_id}/approve"): ("200", DecisionReply),
    ("POST", "/api/v1/runbooks/runs/{run_id}/reject"): ("200", DecisionReply),
    ("POST", "/api/v1/runbooks/automation/pause"): ("200", AutomationReply),
    ("POST", "/api/v1/runbooks/automation/resume"): ("200", AutomationReply),
    ("POST", "/api/v1/chaos/runs"): ("202", LaunchReply),
    ("POST", "/api/v1/drills"): ("202", LaunchReply),
    ("POST", "/api/v1/load/runs"): ("202", LaunchReply),
    ("POST", "/api/v1/runbooks/{name}/runs"): ("202", LaunchReply),
    ("GET", "/api/v1/launches"): ("200", LaunchesReply),
    ("GET", "/api/v1/launches/{launch_id}"): ("200", LaunchReply),
    ("POST", "/api/v1/sessions"): ("200", LoginReply),
    ("GET", "/api/v1/chaos/approvals"): ("200", ChaosApprovalsReply),
    ("GET", "/api/v1/chaos/approvals/{request_id}"): ("200", ChaosApprovalReply),
    ("POST", "/api/v1/chaos/approvals/{request_id}/approve"): ("200", VoteReply),
    ("POST", "/api/v1/chaos/approvals/{request_id}/reject"): ("200", VoteReply),
}
