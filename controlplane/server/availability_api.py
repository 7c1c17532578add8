"""What the web UI's availability and SRE views read that no other route gives: availability
per SLO against its objective, the alert history (incidents, firing or resolved) and the
experiment catalogue with its tags.

    GET /api/v1/availability                records:read; per SLO: today, 7 d, 30 d, the
                                            budget left and its burn-down (None: no data)
    GET /api/v1/alerts/history?limit=200    records:read; newest first
    GET /api/v1/chaos/experiments           records:read; the catalogue, as `chaos list`

Availability comes from the cluster's Prometheus (`ServerSettings.prometheus_url`, or the one
the workspace's platform runs). Without one every figure is None and `problems` says why.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from typing import Any

from aiohttp import web

from controlplane.application import chaos
from controlplane.errors import ControlPlaneError
from controlplane.observe.prometheus import PrometheusClient
from controlplane.server.chaos_api import CHAOS
from controlplane.server.query import query_number
from controlplane.server.record_replies import reply
from controlplane.server.replies import (
    AlertHistoryReply,
    AvailabilityReply,
    ExperimentsReply,
)
from controlplane.server.state import STATE, store_of
from controlplane.slo.availability import availability, no_data
from controlplane.slo.model import load_slos
from controlplane.store import iso

__all__ = ["routes"]

routes = web.RouteTableDef()
QUERY_TIMEOUT_S = 3.0


@routes.get("/api/v1/availability")
async def get_availability(request: web.Request) -> web.Response:
    policy = load_slos()
    now = request.app[STATE].clock()
    url, problem = _prometheus_url(request.app)
    if url is None:
        found = no_data(policy, problem)
    else:
        prom = PrometheusClient(url, timeout=QUERY_TIMEOUT_S)
        found = await asyncio.get_running_loop().run_in_executor(
            None, availability, prom, policy, now)
    return web.json_response(reply(AvailabilityReply, {
        "at": now, "at_iso": iso(now), "prometheus": url,
        "slos": [dataclasses.asdict(a) for a in found]}))


def _prometheus_url(app: web.Application) -> tuple[str | None, str]:
    if app[STATE].settings.prometheus_url:
        return app[STATE].settings.prometheus_url, ""
    try:
        found = app[CHAOS].platform().instances("prometheus")
    except (ControlPlaneError, web.HTTPException) as err:
        return None, f"no cluster platform to find Prometheus on: {err}"
    urls = [i.endpoints.get("http") for i in found if i.endpoints.get("http")]
    return (urls[0], "") if urls else (None, "the cluster has no Prometheus instance")


@routes.get("/api/v1/alerts/history")
async def alert_history(request: web.Request) -> web.Response:
    limit = int(query_number(request, "limit", 200, 1, 1000, int))
    alerts = store_of(request, "alerts").alert_history(limit)
    return web.json_response(reply(AlertHistoryReply, {"alerts": [
        {**dataclasses.asdict(a), "starts_at_iso": iso(a.starts_at),
         "ends_at_iso": iso(a.ends_at)} for a in alerts]}))


@routes.get("/api/v1/chaos/experiments")
async def experiments(request: web.Request) -> web.Response:
    found = await asyncio.get_running_loop().run_in_executor(None, _catalogue)
    return web.json_response(reply(ExperimentsReply, {"experiments": found}))


@functools.cache
def _catalogue() -> list[dict[str, Any]]:
    """Loaded once per process: 200+ files, shipped with the package."""
    return [chaos.experiment_dict(e) for e in chaos.catalogue()]
