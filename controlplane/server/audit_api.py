"""Who am I, and the audit trail, read through the service.

    GET /api/v1/whoami                       the caller's name, role and permissions
    GET /api/v1/audit?since=EPOCH&limit=N    entries, oldest first (audit:read)
    GET /api/v1/audit/verify                 the chain and its checkpoints checked
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from controlplane.security.checkpoints import check_checkpoints
from controlplane.server.access import ACCESS, IDENTITY
from controlplane.server.query import query_number
from controlplane.server.record_replies import AuditReply, AuditVerifyReply, reply
from controlplane.server.replies import WhoamiReply
from controlplane.server.state import STATE, store_of

__all__ = ["routes"]

routes = web.RouteTableDef()
KEEPS = "audit trail"
MAX_LIMIT = 10_000


@routes.get("/api/v1/whoami")
async def whoami(request: web.Request) -> web.Response:
    identity = request[IDENTITY]
    granted = request.app[ACCESS].roles.granted.get(identity.role, frozenset())
    return web.json_response(WhoamiReply(name=identity.name, role=identity.role,
                                         permissions=sorted(granted)).model_dump())


@routes.get("/api/v1/audit")
async def list_audit(request: web.Request) -> web.Response:
    since = query_number(request, "since", 0.0, 0.0, 1e11, float)
    limit = int(query_number(request, "limit", 1000, 1, MAX_LIMIT, int))
    entries = store_of(request, KEEPS).audit_entries(since or None, limit)
    return web.json_response(reply(AuditReply, {"entries": [e.as_json() for e in entries]}))


@routes.get("/api/v1/audit/verify")
async def verify(request: web.Request) -> web.Response:
    store = store_of(request, KEEPS)
    count, problem = store.verify_audit()
    state_dir = request.app[STATE].settings.state_dir
    if problem is None and state_dir is not None:
        problem = check_checkpoints(state_dir, store)
    return web.json_response(reply(AuditVerifyReply, {
        "entries": count, "ok": problem is None,
        "first_bad": None if problem is None else dataclasses.asdict(problem)}))

