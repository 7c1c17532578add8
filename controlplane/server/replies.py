"""The success bodies of the routes that have a model yet: the handlers build their answers
with these, and the OpenAPI document describes those routes' 200 (and 202) from the same
models, so Schemathesis checks their fields. The other routes' bodies are described only as
JSON objects or arrays (see openapi.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["REPLIES", "AutomationReply", "DecisionReply", "LaunchReply", "LaunchesReply",
           "LoginReply", "WhoamiReply"]


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    output_tail: str | None = None


class LaunchesReply(_Reply):
    launches: list[LaunchReply]


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
}
