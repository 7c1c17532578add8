"""JSON error replies and the middlewares that guarantee them and count requests.

Every error reply is `{"error": {"field", "value", "message"}}`. Bad input is a 4xx; only a
bug is a 500, and it is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from controlplane.errors import QUOTE_LIMIT, InvalidInput, StoreError, UnsupportedMediaType, quote

__all__ = ["error_document", "error_middleware", "error_reply", "metrics_middleware",
           "not_found", "reported_value"]

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reported_value(value: object) -> object:
    """A value as a reply quotes it: a short scalar as it is, anything else cut (`quote`), so
    a reply never echoes a large body back."""
    if isinstance(value, (int, float, bool, type(None))) or (
            isinstance(value, str) and len(value) <= QUOTE_LIMIT):
        return value
    return quote(value)


def error_document(message: str, field: str = "", value: object = None) -> dict[str, object]:
    return {"error": {"field": field, "value": reported_value(value), "message": message}}


def error_reply(status: int, message: str, field: str = "", value: object = None) -> web.Response:
    return web.json_response(error_document(message, field, value), status=status)


def not_found(what: str, field: str, value: object) -> web.Response:
    return error_reply(404, f"no {what} {value}", field, value)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except UnsupportedMediaType as err:
        return error_reply(415, str(err), err.field, err.value)
    except InvalidInput as err:
        return error_reply(400, str(err), err.field, err.value)
    except StoreError as err:
        return error_reply(503, str(err))
    except web.HTTPException as err:
        if err.status < 400:
            raise
        reply = error_reply(err.status, err.text or err.reason)
        if "Allow" in err.headers:
            reply.headers["Allow"] = err.headers["Allow"]
        return reply
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_reply(500, "internal error; see the controlplane log")


def metrics_middleware(registry: CollectorRegistry,
                       timer: Callable[[], float]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Count and time every request by method, route template and status."""
    requests = Counter("controlplane_http_requests_total", "HTTP requests served.",
                       ["method", "route", "status"], registry=registry)
    latency = Histogram("controlplane_http_request_duration_seconds",
                        "Time to serve an HTTP request.", ["method", "route"], registry=registry)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = timer()
        response = await handler(request)
        route = _route(request)
        requests.labels(request.method, route, str(response.status)).inc()
        latency.labels(request.method, route).observe(max(timer() - started, 0.0))
        return response

    return middleware


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"
