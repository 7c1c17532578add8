"""The two-person rule on experiments through the service, a door over
`application.chaos_approvals`: the approval requests of runs under a profile that requires
approval (`POST /api/v1/chaos/runs {"policy": "production"}` records one), and each person's
vote; the caller is the voter.

    GET  /api/v1/chaos/approvals?state=waiting&limit=50     records:read
    GET  /api/v1/chaos/approvals/{request_id}               records:read; 404 when unknown
    POST /api/v1/chaos/approvals/{request_id}/approve       chaos:approve {"reason", "totp"}
    POST /api/v1/chaos/approvals/{request_id}/reject        chaos:approve {"reason", "totp"}
"""

from __future__ import annotations

import dataclasses
import re

from aiohttp import web

from controlplane.application import chaos_approvals
from controlplane.errors import InvalidInput
from controlplane.server.access import IDENTITY
from controlplane.server.bodies import ExperimentDecisionBody, read_body
from controlplane.server.errors import not_found
from controlplane.server.query import query_number
from controlplane.server.replies import ChaosApprovalReply, ChaosApprovalsReply, VoteReply
from controlplane.server.state import store_of
from controlplane.store import Store
from controlplane.store.chaos_approvals import APPROVAL_STATES

__all__ = ["routes"]

routes = web.RouteTableDef()
_ID = re.compile(r"[0-9]{1,18}")
KEEPS = "chaos approval requests"


@routes.get("/api/v1/chaos/approvals")
async def list_approvals(request: web.Request) -> web.Response:
    limit = int(query_number(request, "limit", 50, 1, 1000, int))
    state = request.query.get("state") or None
    if state is not None and state not in APPROVAL_STATES:
        raise InvalidInput("must be one of " + ", ".join(APPROVAL_STATES), field="state",
                           value=state)
    store = store_of(request, KEEPS)
    found = store.chaos_approvals(state=state, limit=limit)
    return web.json_response(ChaosApprovalsReply(
        approvals=[_reply(store, a.id) for a in found]).model_dump())


@routes.get("/api/v1/chaos/approvals/{request_id}")
async def get_approval(request: web.Request) -> web.Response:
    request_id = _request_id(request)
    store = store_of(request, KEEPS)
    if store.get_chaos_approval(request_id) is None:
        return not_found("chaos approval request", "request_id", request_id)
    return web.json_response(_reply(store, request_id).model_dump())


@routes.post("/api/v1/chaos/approvals/{request_id}/approve")
async def approve(request: web.Request) -> web.Response:
    return await _decide(request, reject=False)


@routes.post("/api/v1/chaos/approvals/{request_id}/reject")
async def reject(request: web.Request) -> web.Response:
    return await _decide(request, reject=True)


async def _decide(request: web.Request, reject: bool) -> web.Response:
    request_id = _request_id(request)
    body = await read_body(request, ExperimentDecisionBody)
    store = store_of(request, KEEPS)
    if store.get_chaos_approval(request_id) is None:
        return not_found("chaos approval request", "request_id", request_id)
    done = chaos_approvals.decide(store, request_id, reject=reject,
                                  actor=request[IDENTITY].name,
                                  reason=(body.reason or "").strip() or None,
                                  totp_code=body.totp)
    return web.json_response(VoteReply(**dataclasses.asdict(done)).model_dump())


def _reply(store: Store, request_id: int) -> ChaosApprovalReply:
    found = store.get_chaos_approval(request_id)
    assert found is not None
    return ChaosApprovalReply.model_validate(chaos_approvals.approval_document(store, found))


def _request_id(request: web.Request) -> int:
    raw = request.match_info["request_id"]
    if not _ID.fullmatch(raw):
        raise InvalidInput("must be a positive integer", field="request_id", value=raw)
    return int(raw)
