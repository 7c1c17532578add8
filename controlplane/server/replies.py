"""The success bodies of the routes: the handlers build their answers with these, and the
OpenAPI document describes those routes' 200 (and 202) from the same models, so Schemathesis
checks their fields. A model of a record is derived from its dataclass (`record_reply`); the
record routes' models are in `record_replies`. The routes without one (the chaos status and
halt, recover, the OTLP receiver, /metrics) are described only as JSON objects or arrays (see
openapi.py)."""

from __future__ import annotations

from pydantic import BaseModel

from controlplane.application.chaos_approvals import ExperimentDecision
from controlplane.application.launches import Launch
from controlplane.application.runbooks import Decision
from controlplane.server.record_replies import (
    RECORD_REPLIES,
    AutomationReply,
    Reply,
    record_reply,
    reply,
)
from controlplane.slo.availability import SloAvailability
from controlplane.store.alerts import AlertRecord
from controlplane.store.chaos_approvals import ChaosApproval, ChaosVote

__all__ = ["REPLIES", "AlertHistoryReply", "AutomationReply", "AvailabilityReply",
           "ChaosApprovalReply", "ChaosApprovalsReply", "ChaosVoteReply", "DecisionReply",
           "ExperimentsReply", "LaunchReply", "LaunchesReply", "LoginReply", "VoteReply",
           "WhoamiReply", "record_reply", "reply"]


class WhoamiReply(Reply):
    name: str
    role: str
    permissions: list[str]


DecisionReply = record_reply(Decision, "DecisionReply")     # approve, reject or pending


LaunchReply = record_reply(Launch, "LaunchReply", running=(bool, ...),
                           output_tail=(str | None, None))


class LaunchesReply(Reply):
    launches: list[LaunchReply]


ChaosVoteReply = record_reply(ChaosVote, "ChaosVoteReply")
ChaosApprovalReply = record_reply(ChaosApproval, "ChaosApprovalReply",
                                  requested_at_iso=(str, ...), decided_at_iso=(str | None, ...),
                                  votes=(list[ChaosVoteReply], ...))
VoteReply = record_reply(ExperimentDecision, "VoteReply")


class ChaosApprovalsReply(Reply):
    approvals: list[ChaosApprovalReply]     # type: ignore[valid-type]


class LoginReply(Reply):
    user: str
    role: str
    csrf_token: str
    expires_at: float


# the web UI's reads (availability_api) ------------------------------------------------------
SloAvailabilityReply = record_reply(SloAvailability, "SloAvailabilityReply")


class AvailabilityReply(Reply):
    at: float
    at_iso: str | None
    prometheus: str | None
    slos: list[SloAvailabilityReply]         # type: ignore[valid-type]


AlertRecordReply = record_reply(AlertRecord, "AlertRecordReply", starts_at_iso=(str | None, ...),
                                ends_at_iso=(str | None, ...))


class AlertHistoryReply(Reply):
    alerts: list[AlertRecordReply]           # type: ignore[valid-type]


class ExperimentReply(Reply):
    id: str
    path: str
    title: str
    fault: str | None
    component: str | None
    severity: str | None
    runbook: str | None
    tags: list[str]


class ExperimentsReply(Reply):
    experiments: list[ExperimentReply]


# (method, route) -> (status, model)
REPLIES: dict[tuple[str, str], tuple[str, type[BaseModel]]] = {
    **RECORD_REPLIES,
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
    ("GET", "/api/v1/availability"): ("200", AvailabilityReply),
    ("GET", "/api/v1/alerts/history"): ("200", AlertHistoryReply),
    ("GET", "/api/v1/chaos/experiments"): ("200", ExperimentsReply),
}
