"""aiohttp middleware: a SERVER span and RED metrics per request, and JSON errors.

`observability_middleware` goes first (outermost) so that it sees the status the client
gets; `errors_middleware` turns every exception into a JSON error response. The ops routes
(/metrics, /healthz, /readyz) and the admin routes (/admin/...) are neither traced nor
counted, so that scrapes, probes and operators do not drown the business traffic in the RED
metrics and traces.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from testbed.errors import ApiError
from testbed.service.httpmetrics import HttpMetrics
from testbed.service.jsonio import error_response

__all__ = ["ADMIN_PREFIX", "INTERNAL_PREFIX", "OPS_ROUTES", "current_trace_id", "errors_middleware",
           "observability_middleware", "route_of"]

log = logging.getLogger(__name__)

OPS_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})
ADMIN_PREFIX = "/admin/"
INTERNAL_PREFIX = "/internal/"     # service-to-service housekeeping (heartbeats): untraced


def current_trace_id() -> str | None:
    """The hex trace id of the current span (the request's SERVER span), if any."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def route_of(request: web.Request) -> str:
    """The route template ("/v1/orders/{order_id}"), or "unmatched" for unknown paths."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(ApiError(exc.status, exc.reason, field="path", value=request.path))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        trace.get_current_span().record_exception(exc)
        return error_response(ApiError(500, f"internal error ({type(exc).__name__})"))


def observability_middleware(metrics: HttpMetrics, tracer: Tracer) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = route_of(request)
        if route in OPS_ROUTES or route.startswith((ADMIN_PREFIX, INTERNAL_PREFIX)):
            return await handler(request)
        with tracer.start_as_current_span(
                f"{request.method} {route}", context=extract(request.headers),
                kind=SpanKind.SERVER, attributes=_request_attributes(request, route)) as span:
            metrics.in_flight.inc()
            started, status = time.perf_counter(), 500
            try:
                response = await handler(request)
                status = response.status
                return response
            finally:
                metrics.in_flight.dec()
                _record(metrics, span, route, request.method, status, started)
    return middleware


def _request_attributes(request: web.Request, route: str) -> dict[str, str | int]:
    return {"http.request.method": request.method, "http.route": route,
            "url.path": request.path, "server.address": request.host}


def _record(metrics: HttpMetrics, span: trace.Span, route: str, method: str, status: int,
            started: float) -> None:
    try:
        metrics.observe(route, method, status, time.perf_counter() - started)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
    except Exception:
        log.warning("could not record telemetry for %s %s", method, route, exc_info=True)
