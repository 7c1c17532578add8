"""Fault injection inside a service, like a feature flag: errors and delays on its /v1/
routes, and (marketdata) frozen updates, each fault reverting itself after `ttl_s`.

    {"error_rate": 0.2, "error_status": 503, "delay_ms": 100, "delay_jitter_ms": 20,
     "routes": ["/v1/orders"], "ttl_s": 60}

A request whose path starts with one of `routes` (default "/v1/") first waits `delay_ms`
+- `delay_jitter_ms` (uniform, never negative; a real `asyncio.sleep`), then fails with
`error_status` with probability `error_rate`, as `{"error": {"message": "injected fault",
...}}`. `fault_middleware` sits inside the observability middleware, so injected errors and
delays show in the RED metrics and traces like real ones, and each is also counted in
`testbed_injected_faults_total{kind}` (kind: error, delay, freeze). /metrics, /healthz,
/readyz and /admin/* are never affected. The admin routes are in `testbed.service.admin`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from testbed.errors import ApiError
from testbed.service.jsonio import error_response
from testbed.service.middleware import ADMIN_PREFIX, OPS_ROUTES

__all__ = ["FREEZE_UPDATES", "FaultSwitch", "ServiceFault", "fault_middleware"]

log = logging.getLogger(__name__)

FREEZE_UPDATES = "freeze_updates"


def _number(**bounds: Any) -> Any:
    return Field(strict=True, allow_inf_nan=False, **bounds)


class ServiceFault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ttl_s: float = _number(gt=0, le=3600)
    error_rate: float = _number(default=0, ge=0, le=1)
    error_status: int = Field(503, strict=True, ge=500, le=599)
    delay_ms: float = _number(default=0, ge=0, le=60_000)
    delay_jitter_ms: float = _number(default=0, ge=0, le=60_000)
    routes: list[str] = Field(default_factory=lambda: ["/v1/"], min_length=1)
    freeze_updates: StrictBool = False

    @field_validator("routes")
    @classmethod
    def _prefixes(cls, routes: list[str]) -> list[str]:
        for route in routes:
            if not route.startswith("/"):
                raise ValueError(f"each route is a path prefix starting with '/' (got {route!r})")
        return routes


class FaultSwitch:
    """The service's active fault (one at a time), expiring on the injected clock."""

    def __init__(self, registry: CollectorRegistry, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self._clock = clock
        self.rng = rng or random.Random()
        self._injected = Counter("testbed_injected_faults_total",
                                 "Faults injected on purpose, by kind (error, delay, freeze)",
                                 ["kind"], registry=registry)
        self.features: set[str] = set()
        self._active: tuple[ServiceFault, float] | None = None

    def support(self, feature: str) -> None:
        """Declare an optional fault this service implements (marketdata: freeze_updates)."""
        self.features.add(feature)

    def set(self, fault: ServiceFault) -> None:
        if fault.freeze_updates and FREEZE_UPDATES not in self.features:
            raise ApiError(400, "this service has no updates to freeze (only marketdata has)",
                           field=FREEZE_UPDATES, value=True)
        self._active = (fault, self._clock() + fault.ttl_s)
        log.warning("fault injection on for %s s: %s", fault.ttl_s,
                    fault.model_dump(exclude_defaults=True))

    def clear(self) -> bool:
        had = self.current() is not None
        if had:
            log.warning("fault injection cleared")
        self._active = None
        return had

    def current(self) -> ServiceFault | None:
        if self._active is None:
            return None
        if self._clock() >= self._active[1]:
            self._active = None
            log.warning("fault injection expired")
            return None
        return self._active[0]

    def view(self) -> dict[str, Any]:
        fault = self.current()
        remaining = None if self._active is None else max(0.0, self._active[1] - self._clock())
        return {"fault": None if fault is None else fault.model_dump(),
                "ttl_remaining_s": None if remaining is None else round(remaining, 3),
                "supports": sorted(self.features)}

    def on_path(self, path: str) -> ServiceFault | None:
        """The fault that applies to a request for `path`, if any."""
        if path in OPS_ROUTES or path.startswith(ADMIN_PREFIX):
            return None
        fault = self.current()
        if fault is None or not any(path.startswith(route) for route in fault.routes):
            return None
        return fault

    def holds_updates(self) -> bool:
        """Whether updates are to be taken but not applied now (a market-data stall)."""
        fault = self.current()
        if fault is None or not fault.freeze_updates:
            return False
        self.count("freeze")
        return True

    def count(self, kind: str) -> None:
        self._injected.labels(kind=kind).inc()


def fault_middleware(switch: FaultSwitch,
                     sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = switch.on_path(request.path)
        if fault is None:
            return await handler(request)
        delay = _delay_s(fault, switch.rng)
        if delay > 0:
            switch.count("delay")
            await sleep(delay)
        if fault.error_rate > 0 and switch.rng.random() < fault.error_rate:
            switch.count("error")
            return error_response(ApiError(fault.error_status, "injected fault",
                                           rule="fault_injection", retryable=True))
        return await handler(request)
    return middleware


def _delay_s(fault: ServiceFault, rng: random.Random) -> float:
    delay = fault.delay_ms
    if fault.delay_jitter_ms > 0:
        delay += rng.uniform(-fault.delay_jitter_ms, fault.delay_jitter_ms)
    return max(0.0, delay) / 1000
