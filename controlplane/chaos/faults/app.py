"""Application faults a service applies to its own answers, like a feature flag: a share of
HTTP 5xx, slow responses, and a market-data stall (quote updates accepted but not applied)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from controlplane.chaos.faults.base import Evidence, FaultKind, FaultTarget, Timed, register
from controlplane.chaos.faults.links import SAFETY_TTL_MARGIN_S

__all__ = ["AppErrors", "AppSlow"]

SERVICES = ("gateway", "matcher", "marketdata")


class AppErrors(Timed):
    error_rate: float = Field(0.1, gt=0, le=1)
    status: int = Field(503, ge=500, le=599)


class AppSlow(Timed):
    delay_ms: float = Field(200, gt=0, le=60_000)
    jitter_ms: float = Field(0, ge=0, le=60_000)


def _spec(params: Timed) -> dict[str, Any]:
    spec: dict[str, Any] = {"ttl_s": params.duration_s + SAFETY_TTL_MARGIN_S}
    if isinstance(params, AppErrors):
        spec.update(error_rate=params.error_rate, error_status=params.status)
    elif isinstance(params, AppSlow):
        spec.update(delay_ms=params.delay_ms, delay_jitter_ms=params.jitter_ms)
    else:
        spec["freeze_updates"] = True
    return spec


def _inject(ctx, target: FaultTarget, params: Timed, tag: str) -> dict[str, Any]:
    for inst in target.instances:
        ctx.platform.service_faults().set_fault(inst, _spec(params))
    return {}


def _active(ctx, target: FaultTarget, params: Timed, tag: str, notes: dict) -> Evidence:
    now = {i: ctx.platform.service_faults().fault(i) for i in target.instances}
    return Evidence(all(now.values()), f"service faults: {now}", {"faults": now})


def _clear(ctx, target: FaultTarget, params: Timed, tag: str) -> None:
    for inst in target.instances:
        ctx.platform.service_faults().clear(inst)


def _cleared(ctx, target: FaultTarget, params: Timed, tag: str) -> Evidence:
    left = [i for i in target.instances if ctx.platform.service_faults().fault(i)]
    return Evidence(not left, "no service fault" if not left else f"still faulted: {left}")


register(FaultKind("app-errors", "the service answers `error_rate` of its /v1 requests with "
                   "HTTP `status`", AppErrors, SERVICES, _inject, _active, _clear, _cleared,
                   category="application"))
register(FaultKind("app-slow", "the service delays its /v1 answers by `delay_ms` +- "
                   "`jitter_ms`", AppSlow, SERVICES, _inject, _active, _clear, _cleared,
                   category="application"))
register(FaultKind("marketdata-stall", "market data accepts updates but stops applying them: "
                   "quotes go stale", Timed, ("marketdata",), _inject, _active, _clear,
                   _cleared, category="infrastructure"))
