"""/admin/faults: set, read and clear the service's injected fault, behind a bearer token.

    PUT    /admin/faults   a JSON `ServiceFault` (replaces the active one); 400 names the field
    GET    /admin/faults   {"fault", "ttl_remaining_s", "supports"}
    DELETE /admin/faults   {"cleared": bool} (idempotent)

With `admin_token` in the service config every call needs `Authorization: Bearer <token>`
(else 401); without it the admin API is disabled (404).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from testbed.errors import ApiError
from testbed.service.faults import FaultSwitch, ServiceFault
from testbed.service.jsonio import error_response, json_response, read_json, validate_body

__all__ = ["add_admin_routes", "admin_refusal", "guarded"]

log = logging.getLogger(__name__)


def add_admin_routes(app: web.Application, switch: FaultSwitch, token: str | None) -> None:
    async def get_fault(request: web.Request) -> web.Response:
        return _refused(request, token) or json_response(switch.view())

    async def put_fault(request: web.Request) -> web.Response:
        refused = _refused(request, token)
        if refused is not None:
            return refused
        switch.set(validate_body(ServiceFault, await read_json(request), status=400))
        return json_response(switch.view())

    async def delete_fault(request: web.Request) -> web.Response:
        return _refused(request, token) or json_response({"cleared": switch.clear()})

    app.router.add_get("/admin/faults", get_fault)
    app.router.add_put("/admin/faults", put_fault)
    app.router.add_delete("/admin/faults", delete_fault)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def guarded(handler: Handler, token: str | None) -> Handler:
    """`handler` behind the admin token, for a service's own /admin routes (/admin/shardmap)."""
    async def run(request: web.Request) -> web.StreamResponse:
        return _refused(request, token) or await handler(request)
    return run


def admin_refusal(request: web.Request, token: str | None) -> web.Response | None:
    """None when the caller may use the admin API, else the 404 or 401 to answer."""
    return _refused(request, token)


def _refused(request: web.Request, token: str | None) -> web.Response | None:
    """None when the caller may use the admin API, else the 404 or 401 to answer."""
    if token is None:
        return error_response(ApiError(
            404, "the admin API is disabled: set admin_token in the service config",
            field="path", value=request.path))
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    log.warning("refused %s %s from %s: bad or missing bearer token", request.method,
                request.path, request.remote)
    response = error_response(ApiError(401, "a valid 'Authorization: Bearer <admin_token>' "
                                            "header is required", field="Authorization"))
    response.headers["WWW-Authenticate"] = 'Bearer realm="testbed-admin"'
    return response
