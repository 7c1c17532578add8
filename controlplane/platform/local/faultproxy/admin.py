"""The proxy's admin HTTP API.

    GET    /v1/links                  every link: addresses, fault, ttl left, connections, bytes
    GET    /v1/links/{name}           one link
    PUT    /v1/links/{name}           carry a new link: {"listen", "upstream"} (a scaled-out
                                      instance's); the same link again is a no-op, 201 if new
    DELETE /v1/links/{name}           stop carrying it (idempotent): {"removed": bool}
    PUT    /v1/links/{name}/fault     set (replace) the link's fault: a JSON fault spec
    DELETE /v1/links/{name}/fault     clear it (idempotent)
    DELETE /v1/faults                 clear every fault
    GET    /metrics, GET /healthz

With a token in the admin configuration every /v1 route asks for `Authorization: Bearer
<token>` (401 otherwise, and nothing changes); /healthz and /metrics stay open, as the
services' own do.

Errors are JSON: `{"error": {"message", "field", "value"}}` (400 for a bad spec), and
`{"error": {"message", "name", "valid"}}` (404 for an unknown link, listing the valid ones).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controlplane.errors import InvalidInput, PlatformError, UnknownTarget
from controlplane.platform.local.faultproxy.config import parse_config
from controlplane.platform.local.faultproxy.proxy import FaultProxy
from controlplane.platform.local.faultproxy.spec import parse_spec

__all__ = ["admin_app"]

log = logging.getLogger(__name__)

_MAX_BODY = 64 * 1024


def admin_app(proxy: FaultProxy, token: str | None = None) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(proxy.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def links(_: web.Request) -> web.Response:
        return _json({"links": [link.view() for link in proxy.links.values()]})

    async def link(request: web.Request) -> web.Response:
        return _json(proxy.link(_name(request)).view())

    async def set_fault(request: web.Request) -> web.Response:
        target = proxy.link(_name(request))
        target.set_fault(parse_spec(await _body(request)))
        return _json(target.view())

    async def add_link(request: web.Request) -> web.Response:
        body = await _body(request)
        if not isinstance(body, dict):
            raise InvalidInput("the body must be an object with listen and upstream",
                               source="link", field="(body)")
        config = parse_config({"admin": {"port": 0},
                               "links": [{**body, "name": _name(request)}]}, "link")
        try:
            link, created = await proxy.add(config.links[0])
        except PlatformError as exc:
            return _error(409, str(exc), name=_name(request))
        return _json(link.view(), 201 if created else 200)

    async def remove_link(request: web.Request) -> web.Response:
        return _json({"link": _name(request), "removed": await proxy.remove(_name(request))})

    async def clear(request: web.Request) -> web.Response:
        target = proxy.link(_name(request))
        return _json({"link": target.name, "cleared": target.faults.clear()})

    async def clear_all(_: web.Request) -> web.Response:
        return _json({"cleared": proxy.clear_all()})

    app = web.Application(middlewares=[_errors, _guard(token)], client_max_size=_MAX_BODY)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/v1/links", links)
    app.router.add_get("/v1/links/{name}", link)
    app.router.add_put("/v1/links/{name}", add_link)
    app.router.add_delete("/v1/links/{name}", remove_link)
    app.router.add_put("/v1/links/{name}/fault", set_fault)
    app.router.add_delete("/v1/links/{name}/fault", clear)
    app.router.add_delete("/v1/faults", clear_all)
    return app


def _name(request: web.Request) -> str:
    return request.match_info["name"]


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not JSON: {exc}", source="fault spec",
                           field="(body)") from None


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return _json({"error": {"message": message, **extra}}, status)


def _guard(token: str | None):
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is None or not request.path.startswith("/v1/"):
            return await handler(request)
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _error(401, "the fault proxy's admin API needs 'Authorization: Bearer "
                               "<admin token>'", path=request.path)
        return await handler(request)
    return guard


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except UnknownTarget as exc:
        return _error(404, str(exc), name=exc.name, valid=exc.valid)
    except InvalidInput as exc:
        return _error(400, str(exc), field=exc.field, value=exc.value)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(exc.status, exc.reason, path=request.path)
    except Exception as exc:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return _error(500, f"internal error ({type(exc).__name__})")
