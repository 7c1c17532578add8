"""The runbook API, a door over `controlplane.application.runbooks`: runs and their steps,
approve and reject (the two-person rule applies: the caller is the approver), and pausing
automation.

    GET  /api/v1/runbooks/runs?limit=50             records:read
    GET  /api/v1/runbooks/runs/{run_id}             records:read; 404 when no run has the id
    POST /api/v1/runbooks/runs/{run_id}/approve     runbooks:approve {"step", "reason", "totp"}
    POST /api/v1/runbooks/runs/{run_id}/reject      runbooks:approve {"step", "reason", "totp"}
    POST /api/v1/runbooks/automation/pause          automation:pause {"reason"}
    POST /api/v1/runbooks/automation/resume         automation:pause
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from aiohttp import web

from controlplane import jsonbody
from controlplane.application import runbooks
from controlplane.errors import InvalidInput, StoreError
from controlplane.server.access import IDENTITY
from controlplane.server.errors import not_found
from controlplane.server.query import query_number
from controlplane.server.state import STATE
from controlplane.store import Store

__all__ = ["routes"]

routes = web.RouteTableDef()
_RUN_ID = re.compile(r"[0-9]{1,18}")
DECISION_FIELDS = {"step", "reason", "totp"}
MAX_REASON = 500


@routes.get("/api/v1/runbooks/runs")
async def list_runs(request: web.Request) -> web.Response:
    limit = int(query_number(request, "limit", 50, 1, 1000, int))
    return web.json_response(runbooks.runs_document(_store(request), limit))


@routes.get("/api/v1/runbooks/runs/{run_id}")
async def get_run(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    store = _store(request)
    if store.get_runbook_run(run_id) is None:
        return not_found("runbook run", "run_id", run_id)
    return web.json_response(runbooks.run_document(store, run_id))


@routes.post("/api/v1/runbooks/runs/{run_id}/approve")
async def approve(request: web.Request) -> web.Response:
    return await _decide(request, reject=False)


@routes.post("/api/v1/runbooks/runs/{run_id}/reject")
async def reject(request: web.Request) -> web.Response:
    return await _decide(request, reject=True)


async def _decide(request: web.Request, reject: bool) -> web.Response:
    run_id = _run_id(request)
    body = await _object_body(request, DECISION_FIELDS)
    step = body.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)
                             or not 0 <= step < 1000):
        raise InvalidInput("must be a step index from 0 to 999", field="step", value=step)
    reason = _text(body.get("reason"), "reason")
    code = body.get("totp")
    if code is not None and not isinstance(code, str):
        raise InvalidInput("must be the 6-digit code as a string", field="totp", value=code)
    store = _store(request)
    if store.get_runbook_run(run_id) is None:
        return not_found("runbook run", "run_id", run_id)
    decision = runbooks.decide(store, run_id, step, reject=reject,
                               actor=request[IDENTITY].name, reason=reason, totp_code=code)
    return web.json_response(dataclasses.asdict(decision))


@routes.post("/api/v1/runbooks/automation/pause")
async def pause(request: web.Request) -> web.Response:
    body = await _object_body(request, {"reason"})
    reason = _text(body.get("reason"), "reason")
    if not reason:
        raise InvalidInput("must say why automation is paused", field="reason", value=reason)
    state = runbooks.pause_automation(_store(request), request[IDENTITY].name, reason)
    return web.json_response(dataclasses.asdict(state))


@routes.post("/api/v1/runbooks/automation/resume")
async def resume(request: web.Request) -> web.Response:
    await _object_body(request, set())
    state = runbooks.resume_automation(_store(request), request[IDENTITY].name)
    return web.json_response(dataclasses.asdict(state))


def _run_id(request: web.Request) -> int:
    raw = request.match_info["run_id"]
    if not _RUN_ID.fullmatch(raw):
        raise InvalidInput("must be a positive integer", field="run_id", value=raw)
    return int(raw)


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_REASON:
        raise InvalidInput(f"must be a string of at most {MAX_REASON} characters", field=field,
                           value=value)
    return value.strip() or None


async def _object_body(request: web.Request, allowed: set[str]) -> dict[str, Any]:
    body = jsonbody.loads(await request.read(), field="(body)", empty={})
    if not isinstance(body, dict):
        raise InvalidInput("must be a JSON object", field="(body)", value=type(body).__name__)
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput("unknown field; allowed: " + (", ".join(sorted(allowed)) or "none"),
                           field=unknown[0])
    return body


def _store(request: web.Request) -> Store:
    store = request.app[STATE].store
    if store is None:
        raise StoreError("the control plane runs without a state directory; it keeps no "
                         "runbook runs (start it with --state-dir)")
    return store
