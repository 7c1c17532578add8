"""What a service is built from, and the aiohttp application every service starts with."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry, ProcessCollector

from testbed.config import ServiceConfig
from testbed.service.admin import add_admin_routes
from testbed.service.faults import FaultSwitch, fault_middleware
from testbed.service.httpmetrics import HttpMetrics
from testbed.service.middleware import errors_middleware, observability_middleware
from testbed.service.ops import Readiness, add_ops_routes
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
    clock: Callable[[], float] = time.monotonic   # what injected faults' ttl_s runs on
    faults: FaultSwitch = field(init=False)

    def __post_init__(self) -> None:
        self.faults = FaultSwitch(self.registry, self.clock)


def new_app(ctx: ServiceContext) -> web.Application:
    """An application with the middleware, /metrics, /healthz, /readyz and /admin/faults in
    place. Fault injection sits inside the observability middleware: what it injects is
    measured like real errors and latency."""
    middlewares = [observability_middleware(HttpMetrics(ctx.registry), ctx.tracer),
                   errors_middleware, fault_middleware(ctx.faults)]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    add_ops_routes(app, ctx.registry, ctx.readiness)
    add_admin_routes(app, ctx.faults, ctx.config.admin_token)
    ProcessCollector(registry=ctx.registry)
    return app
