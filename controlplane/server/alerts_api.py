"""The Alertmanager-compatible alert intake: Prometheus posts firing and resolved alerts to
`POST /api/v2/alerts`; `GET /api/v2/alerts` lists those firing. A malformed payload gets a 400
naming the alert and the field, and nothing of it is stored."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from controlplane import jsonbody
from controlplane.errors import StoreError
from controlplane.observe.alerts import parse_alerts
from controlplane.server.state import STATE
from controlplane.store.alerts import AlertRecord

__all__ = ["ALERT_METRICS", "AlertMetrics", "routes"]

routes = web.RouteTableDef()


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter("controlplane_alerts_received_total",
                                "Alerts received at the intake", ["alertname", "severity",
                                                                  "status"], registry=registry)
        self.delivery = Histogram("controlplane_alert_delivery_seconds",
                                  "From an alert's startsAt to its first receipt",
                                  buckets=(0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300),
                                  registry=registry)


ALERT_METRICS = web.AppKey("alert_metrics", AlertMetrics)
Listener = Callable[[list[AlertRecord]], None]
ALERT_LISTENERS = web.AppKey("alert_listeners", list)


def _record(request: web.Request, stored: list[AlertRecord]) -> None:
    metrics = request.app[ALERT_METRICS]
    for alert in stored:
        metrics.received.labels(alert.alertname, alert.severity, alert.status).inc()
        if alert.receipts == 1:
            metrics.delivery.observe(max(0.0, alert.first_received_at - alert.starts_at))


@routes.post("/api/v2/alerts")
async def receive(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.store is None:
        raise StoreError("the control plane runs without a state directory; it cannot keep "
                         "alerts (start it with --state-dir)")
    payload = jsonbody.loads(await request.read(), field="(body)", empty=None)
    now = state.clock()
    alerts = parse_alerts(payload, now)            # all checked before anything is stored
    stored = state.store.receive_alerts(alerts, now)
    _record(request, stored)
    for listener in request.app[ALERT_LISTENERS]:
        listener(stored)
    return web.json_response({"received": len(stored)})


@routes.get("/api/v2/alerts")
async def firing(request: web.Request) -> web.Response:
    store = request.app[STATE].store
    alerts = store.firing_alerts() if store is not None else []
    return web.json_response([{
        "fingerprint": a.fingerprint, "labels": a.labels, "annotations": a.annotations,
        "startsAt": a.starts_at, "status": {"state": "active"}, "receipts": a.receipts}
        for a in alerts])
