"""The runbook API, a door over `controlplane.application.runbooks`: runs and their steps,
approve and reject (the two-person rule applies: the caller is the approver), and pausing
automation.

    GET  /api/v1/runbooks/runs?limit=50             records:read
    GET  /api/v1/runbooks/runs/{run_id}             records:read; 404 when no run has the id
    GET  /api/v1/runbooks/{name}                    records:read; the runbook as its file says
                                                    (each alert rule's runbook_url links here)
    POST /api/v1/runbooks/runs/{run_id}/approve     runbooks:approve {"step", "reason", "totp"}
    POST /api/v1/runbooks/runs/{run_id}/reject      runbooks:approve {"step", "reason", "totp"}
    POST /api/v1/runbooks/automation/pause          automation:pause {"reason"}
    POST /api/v1/runbooks/automation/resume         automation:pause
"""

from __future__ import annotations

import dataclasses
import re

from aiohttp import web

from controlplane.application import runbooks
from controlplane.errors import InvalidInput
from controlplane.server.access import IDENTITY
from controlplane.server.bodies import DecisionBody, EmptyBody, PauseBody, read_body
from controlplane.server.errors import not_found
from controlplane.server.query import query_number
from controlplane.server.record_replies import RunbookRunDetailReply, RunbookRunsReply, reply
from controlplane.server.replies import AutomationReply, DecisionReply
from controlplane.server.state import STATE, store_of

__all__ = ["routes"]

routes = web.RouteTableDef()
KEEPS = "runbook runs"
_RUN_ID = re.compile(r"[0-9]{1,18}")


@routes.get("/api/v1/runbooks/runs")
async def list_runs(request: web.Request) -> web.Response:
    limit = int(query_number(request, "limit", 50, 1, 1000, int))
    return web.json_response(reply(RunbookRunsReply,
                                   runbooks.runs_document(store_of(request, KEEPS), limit)))


@routes.get("/api/v1/runbooks/runs/{run_id}")
async def get_run(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    store = store_of(request, KEEPS)
    if store.get_runbook_run(run_id) is None:
        return not_found("runbook run", "run_id", run_id)
    return web.json_response(reply(RunbookRunDetailReply, runbooks.run_document(store, run_id)))


@routes.get("/api/v1/runbooks/{name}")
async def get_runbook(request: web.Request) -> web.Response:
    """After the fixed /runbooks/runs routes (registered first, so matched first)."""
    from controlplane.runbooks.links import RUNBOOKS_DIR
    from controlplane.runbooks.model import load_runbooks

    name = request.match_info["name"]
    found = load_runbooks(request.app[STATE].settings.runbooks_dir or RUNBOOKS_DIR)
    if name not in found:
        return not_found("runbook", "name", name)
    return web.json_response(runbooks.runbook_document(*found[name]))


@routes.post("/api/v1/runbooks/runs/{run_id}/approve")
async def approve(request: web.Request) -> web.Response:
    return await _decide(request, reject=False)


@routes.post("/api/v1/runbooks/runs/{run_id}/reject")
async def reject(request: web.Request) -> web.Response:
    return await _decide(request, reject=True)


async def _decide(request: web.Request, reject: bool) -> web.Response:
    run_id = _run_id(request)
    body = await read_body(request, DecisionBody)
    store = store_of(request, KEEPS)
    if store.get_runbook_run(run_id) is None:
        return not_found("runbook run", "run_id", run_id)
    decision = runbooks.decide(store, run_id, body.step, reject=reject,
                               actor=request[IDENTITY].name,
                               reason=(body.reason or "").strip() or None, totp_code=body.totp)
    return web.json_response(DecisionReply(**dataclasses.asdict(decision)).model_dump())


@routes.post("/api/v1/runbooks/automation/pause")
async def pause(request: web.Request) -> web.Response:
    body = await read_body(request, PauseBody)
    reason = body.reason.strip()
    if not reason:
        raise InvalidInput("must say why automation is paused", field="reason",
                           value=body.reason)
    state = runbooks.pause_automation(store_of(request, KEEPS), request[IDENTITY].name, reason)
    return web.json_response(AutomationReply(**dataclasses.asdict(state)).model_dump())


@routes.post("/api/v1/runbooks/automation/resume")
async def resume(request: web.Request) -> web.Response:
    await read_body(request, EmptyBody)
    state = runbooks.resume_automation(store_of(request, KEEPS), request[IDENTITY].name)
    return web.json_response(AutomationReply(**dataclasses.asdict(state)).model_dump())


def _run_id(request: web.Request) -> int:
    raw = request.match_info["run_id"]
    if not _RUN_ID.fullmatch(raw):
        raise InvalidInput("must be a positive integer", field="run_id", value=raw)
    return int(raw)

