"""The read API: traces, the telemetry summary and drill records, as JSON."""

from __future__ import annotations

import dataclasses
import re

from aiohttp import web

from controlplane.errors import InvalidInput
from controlplane.server.errors import not_found
from controlplane.server.query import query_number
from controlplane.server.record_replies import (
    DrillDetailReply,
    DrillsReply,
    SummaryReply,
    TraceReply,
    TracesReply,
    reply,
)
from controlplane.server.state import STATE, store_of
from controlplane.store import Drill, DrillEvent, iso

__all__ = ["routes"]

routes = web.RouteTableDef()
KEEPS = "drill records"
_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")
_DRILL_ID = re.compile(r"[0-9]{1,18}")
MAX_LIMIT = 1000
MAX_WINDOW_S = 7 * 24 * 3600


@routes.get("/api/v1/traces/{trace_id}")
async def get_trace(request: web.Request) -> web.Response:
    trace_id = request.match_info["trace_id"]
    if not _TRACE_ID.fullmatch(trace_id):
        raise InvalidInput("must be 32 hex characters", field="trace_id", value=trace_id)
    spans = request.app[STATE].spans.trace(trace_id.lower())
    if not spans:
        return not_found("trace", "trace_id", trace_id)
    return web.json_response(reply(TraceReply, {
        "trace_id": trace_id.lower(), "spans": [span.as_json() for span in spans]}))


@routes.get("/api/v1/traces")
async def list_traces(request: web.Request) -> web.Response:
    limit = int(query_number(request, "limit", 20, 1, MAX_LIMIT, int))
    service = request.query.get("service") or None
    traces = request.app[STATE].spans.recent_traces(limit, service)
    return web.json_response(reply(TracesReply,
                                   {"traces": [dataclasses.asdict(t) for t in traces]}))


@routes.get("/api/v1/telemetry/summary")
async def telemetry_summary(request: web.Request) -> web.Response:
    state = request.app[STATE]
    window = query_number(request, "window", state.settings.summary_window_s, 1, MAX_WINDOW_S,
                          float)
    return web.json_response(reply(SummaryReply,
                                   dataclasses.asdict(state.spans.summary(window))))


@routes.get("/api/v1/drills")
async def list_drills(request: web.Request) -> web.Response:
    limit = int(query_number(request, "limit", 50, 1, MAX_LIMIT, int))
    drills = store_of(request, KEEPS).list_drills(limit, request.query.get("kind") or None)
    return web.json_response(reply(DrillsReply, {"drills": [_drill_json(d) for d in drills]}))


@routes.get("/api/v1/drills/{drill_id}")
async def get_drill(request: web.Request) -> web.Response:
    raw = request.match_info["drill_id"]
    if not _DRILL_ID.fullmatch(raw):
        raise InvalidInput("must be a positive integer", field="drill_id", value=raw)
    store = store_of(request, KEEPS)
    drill = store.get_drill(int(raw))
    if drill is None:
        return not_found("drill", "drill_id", int(raw))
    events = [_event_json(e) for e in store.drill_events(drill.id)]
    return web.json_response(reply(DrillDetailReply,
                                   {"drill": _drill_json(drill), "events": events}))



def _drill_json(drill: Drill) -> dict[str, object]:
    return {**dataclasses.asdict(drill), "started_at_iso": iso(drill.started_at),
            "ended_at_iso": iso(drill.ended_at)}


def _event_json(event: DrillEvent) -> dict[str, object]:
    return {**dataclasses.asdict(event), "at_iso": iso(event.at)}
