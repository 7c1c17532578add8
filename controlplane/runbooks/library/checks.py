"""Checks (they act on nothing, so they also run in a dry run): PromQL expectations, the order
path, and the ledger's health."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from controlplane.chaos import probes
from controlplane.chaos.config import STATE_KEY
from controlplane.errors import PrometheusError
from controlplane.observe.prometheus import PrometheusClient
from controlplane.runbooks.actions import ActionContext, ActionFailed, NoParams, action


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # PromQL: a label template in it may only be an = matcher's value, filled as a string
    expr: str = Field(json_schema_extra={"promql": True})


def _prometheus(ctx: ActionContext) -> PrometheusClient:
    url = ctx.prometheus_url or ctx.platform.instances("prometheus")[0].endpoints["http"]
    return PrometheusClient(url, timeout=5)


@action("prometheus.expect", Expect, "the PromQL expression returns a non-empty result",
        mutates=False)
def expect(ctx: ActionContext, params: Expect) -> dict[str, Any]:
    try:
        samples = _prometheus(ctx).query(params.expr)
    except PrometheusError as err:
        raise ActionFailed(str(err)) from None
    if not samples:
        raise ActionFailed(f"{params.expr} returned nothing")
    return {"samples": [{"labels": dict(s.labels), "value": s.value} for s in samples[:10]]}


def _config(ctx: ActionContext) -> dict[str, str]:
    return {STATE_KEY: str(ctx.platform.workspace.root)}


@action("probe.canary_order", NoParams, "a small order is acknowledged and cancelled",
        mutates=False)
def canary(ctx: ActionContext, params: NoParams) -> dict[str, Any]:
    if not probes.canary_order(configuration=_config(ctx)):
        raise ActionFailed("the canary order was not acknowledged")
    return {"acknowledged": True}


@action("probe.ledger_healthy", NoParams, "one primary and a synchronous standby",
        mutates=False)
def ledger_healthy(ctx: ActionContext, params: NoParams) -> dict[str, Any]:
    if not probes.ledger_healthy(configuration=_config(ctx)):
        raise ActionFailed("the ledger has no primary with a synchronous standby")
    return {"healthy": True}
