"""Load shedding: protect order entry by refusing part of the quote browsing at the gateway."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from controlplane.runbooks.actions import ActionContext, action


class Shed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    routes: list[str] = Field(default_factory=lambda: ["/v1/quotes"])
    share: float = Field(0.5, gt=0, le=1)
    ttl_s: float = Field(600, gt=0, le=3600)     # shedding ends by itself


class NoRoutes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _gateways(ctx: ActionContext) -> list[str]:
    return [i.id for i in ctx.platform.instances("gateway")]


@action("traffic.shed", Shed, "answer a share of the given routes 503 at every gateway")
def shed(ctx: ActionContext, params: Shed) -> dict[str, Any]:
    spec = {"error_rate": params.share, "error_status": 503, "routes": params.routes,
            "ttl_s": params.ttl_s}
    for inst in _gateways(ctx):
        ctx.platform.service_faults().set_fault(inst, spec)
    return {"shedding": params.routes, "share": params.share, "gateways": _gateways(ctx)}


@action("traffic.unshed", NoRoutes, "stop shedding at every gateway")
def unshed(ctx: ActionContext, params: NoRoutes) -> dict[str, Any]:
    return {"cleared": [i for i in _gateways(ctx)
                        if ctx.platform.service_faults().clear(i)]}
