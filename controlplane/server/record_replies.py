"""The success bodies of the record routes (drills, chaos runs, alerts, traces, runbook runs,
the audit trail), each record's model derived from the dataclass the store or the span store
keeps it in (`record_reply`), plus the fields the route adds (ISO times). The handlers build
their answers through these (`reply`), and `replies.REPLIES` hands them to the OpenAPI
document, so Schemathesis checks every field."""

from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, RootModel, create_model

from controlplane.observe.records import SpanRecord
from controlplane.observe.spans import TraceInfo
from controlplane.observe.summary import Summary
from controlplane.store import Drill, DrillEvent, Fault
from controlplane.store.audit import AuditEntry, AuditProblem
from controlplane.store.chaos import ChaosEvent, ChaosRun
from controlplane.store.runbooks import AutomationState, RunbookRun, RunbookStep

__all__ = [
    "RECORD_REPLIES",
    "AuditReply",
    "AuditVerifyReply",
    "AutomationReply",
    "ChaosRunDetailReply",
    "ChaosRunsReply",
    "DrillDetailReply",
    "DrillsReply",
    "GettableAlerts",
    "Reply",
    "RunbookDocumentReply",
    "RunbookRunDetailReply",
    "RunbookRunsReply",
    "SummaryReply",
    "TraceReply",
    "TracesReply",
    "record_reply",
    "reply",
]

ISO = (str | None, ...)             # an epoch time's ISO 8601 twin, None when the time is


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


def record_reply(record: type, name: str, **extra: Any) -> type[Reply]:
    """The reply model of a record dataclass: one field per field of `record`, typed as it
    is, and `extra` (name=(type, default)) for what the route adds, so a record's field list
    is written once, in its dataclass."""
    hints = get_type_hints(record)
    fields: dict[str, Any] = {f.name: (hints[f.name], ...) for f in dataclasses.fields(record)}
    model: type[Reply] = create_model(name, __base__=Reply, **fields, **extra)
    return model


def reply(model: type[BaseModel], body: object) -> Any:
    """`body` checked against `model` and dumped as JSON-able data: what a handler answers."""
    return model.model_validate(body).model_dump(mode="json")


# drills --------------------------------------------------------------------------------
DrillReply = record_reply(Drill, "DrillReply", started_at_iso=ISO, ended_at_iso=ISO)
DrillEventReply = record_reply(DrillEvent, "DrillEventReply", at_iso=ISO)


class DrillsReply(Reply):
    drills: list[DrillReply]                       # type: ignore[valid-type]


class DrillDetailReply(Reply):
    drill: DrillReply                              # type: ignore[valid-type]
    events: list[DrillEventReply]                  # type: ignore[valid-type]


# chaos runs ----------------------------------------------------------------------------
ChaosRunReply = record_reply(ChaosRun, "ChaosRunReply", started_at_iso=ISO, ended_at_iso=ISO)
ChaosEventReply = record_reply(ChaosEvent, "ChaosEventReply", at_iso=ISO)
FaultReply = record_reply(Fault, "FaultReply", injected_at_iso=ISO, reverted_at_iso=ISO)


class ChaosRunsReply(Reply):
    runs: list[ChaosRunReply]                      # type: ignore[valid-type]


class ChaosRunDetailReply(Reply):
    run: ChaosRunReply                             # type: ignore[valid-type]
    events: list[ChaosEventReply]                  # type: ignore[valid-type]
    faults: list[FaultReply]                       # type: ignore[valid-type]


# alerts: Alertmanager's v2 gettableAlerts ----------------------------------------------
class AlertStatus(Reply):
    state: str
    silencedBy: list[str]                         # noqa: N815 (Alertmanager's names)
    inhibitedBy: list[str]                        # noqa: N815
    mutedBy: list[str]                            # noqa: N815


class AlertReceiver(Reply):
    name: str


class GettableAlert(Reply):
    labels: dict[str, str]
    annotations: dict[str, str]
    fingerprint: str
    startsAt: str                                 # noqa: N815
    endsAt: str                                   # noqa: N815
    updatedAt: str | None                         # noqa: N815
    receivers: list[AlertReceiver]
    status: AlertStatus


GettableAlerts = RootModel[list[GettableAlert]]


# traces --------------------------------------------------------------------------------
SpanReply = record_reply(SpanRecord, "SpanReply", duration_ms=(float, ...))
TraceInfoReply = record_reply(TraceInfo, "TraceInfoReply")
SummaryReply = record_reply(Summary, "SummaryReply")


class TraceReply(Reply):
    trace_id: str
    spans: list[SpanReply]                         # type: ignore[valid-type]


class TracesReply(Reply):
    traces: list[TraceInfoReply]                   # type: ignore[valid-type]


# runbook runs --------------------------------------------------------------------------
AutomationReply = record_reply(AutomationState, "AutomationReply")
AutomationStatusReply = record_reply(AutomationState, "AutomationStatusReply", at_iso=ISO)
RunbookRunReply = record_reply(RunbookRun, "RunbookRunReply", started_at_iso=ISO,
                               ended_at_iso=ISO)
RunbookStepReply = record_reply(RunbookStep, "RunbookStepReply", started_at_iso=ISO,
                                ended_at_iso=ISO, took_s=(float | None, ...))


class RunbookRunsReply(Reply):
    automation: AutomationStatusReply              # type: ignore[valid-type]
    runs: list[RunbookRunReply]                    # type: ignore[valid-type]


class RunbookRunDetailReply(Reply):
    run: RunbookRunReply                           # type: ignore[valid-type]
    steps: list[RunbookStepReply]                  # type: ignore[valid-type]


# the audit trail -----------------------------------------------------------------------
AuditEntryReply = record_reply(AuditEntry, "AuditEntryReply")
AuditProblemReply = record_reply(AuditProblem, "AuditProblemReply")


class AuditReply(Reply):
    entries: list[AuditEntryReply]                 # type: ignore[valid-type]


class AuditVerifyReply(Reply):
    entries: int
    ok: bool
    first_bad: AuditProblemReply | None            # type: ignore[valid-type]


# a runbook, as its file says it (the page an alert's runbook_url leads to) -------------
class RunbookDocumentReply(BaseModel):
    """The runbook's own fields as its model dumps them (extra keys allowed: the runbook
    file's schema is the runbook model's, not repeated here), with the ones the page adds."""
    model_config = ConfigDict(extra="allow")
    file: str
    name: str
    target: str
    steps: list[dict[str, Any]]
    template_labels: list[str]


# (method, route) -> (status, model)
RECORD_REPLIES: dict[tuple[str, str], tuple[str, type[BaseModel]]] = {
    ("GET", "/api/v1/drills"): ("200", DrillsReply),
    ("GET", "/api/v1/drills/{drill_id}"): ("200", DrillDetailReply),
    ("GET", "/api/v1/chaos/runs"): ("200", ChaosRunsReply),
    ("GET", "/api/v1/chaos/runs/{run_id}"): ("200", ChaosRunDetailReply),
    ("GET", "/api/v2/alerts"): ("200", GettableAlerts),
    ("GET", "/api/v1/traces"): ("200", TracesReply),
    ("GET", "/api/v1/traces/{trace_id}"): ("200", TraceReply),
    ("GET", "/api/v1/telemetry/summary"): ("200", SummaryReply),
    ("GET", "/api/v1/runbooks/runs"): ("200", RunbookRunsReply),
    ("GET", "/api/v1/runbooks/runs/{run_id}"): ("200", RunbookRunDetailReply),
    ("GET", "/api/v1/audit"): ("200", AuditReply),
    ("GET", "/api/v1/audit/verify"): ("200", AuditVerifyReply),
    ("GET", "/api/v1/runbooks/{name}"): ("200", RunbookDocumentReply),
}
