"""What a service is built from, and the aiohttp application every service starts with."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry, ProcessCollector

from testbed.common.httpmetrics import HttpMetrics
from testbed.common.middleware import errors_middleware, observability_middleware
from testbed.common.ops import Readiness, add_ops_routes
from testbed.config import ServiceConfig
from testbed.trading import Trading

__all__ = ["MAX_BODY_BYTES", "ServiceContext", "new_app"]

MAX_BODY_BYTES = 64 * 1024


@dataclass
class ServiceContext:
    """Everything a service's builder gets: no globals."""

    config: ServiceConfig
    trading: Trading
    registry: CollectorRegistry
    tracer: Tracer
    readiness: Readiness = field(default_factory=Readiness)


def new_app(ctx: ServiceContext) -> web.Application:
    """An application with the middleware, /metrics, /healthz and /readyz in place."""
    middlewares = [observability_middleware(HttpMetrics(ctx.registry), ctx.tracer),
                   errors_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    add_ops_routes(app, ctx.registry, ctx.readiness)
    ProcessCollector(registry=ctx.registry)
    return app
