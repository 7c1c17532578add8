"""The Alertmanager-compatible alert intake. `POST /api/v2/alerts` takes what Prometheus's
notifier posts (a JSON array of alerts) and what an Alertmanager webhook receiver posts (an
object, version 4); `GET /api/v2/alerts` lists the firing alerts as Alertmanager's v2 API
does (`gettableAlerts` in its api/v2/openapi.yaml).

Each alert is judged on its own: the valid ones are stored, in one transaction, and the reply
names each invalid one (index, field, value, how to fix). A body that is not JSON, or of
neither shape, or too large, or of another content type is refused whole with a 4xx, and
nothing of it is stored. A batch with invalid alerts still gets a 200 because both senders
drop a batch answered with a 4xx: Prometheus counts it in
prometheus_notifications_dropped_total and never resends it (notifier/sendloop.go), and
Alertmanager retries only a 5xx (notify/util.go `Retrier`). A 4xx there would lose the valid
alerts with the invalid ones; the refusals are counted in controlplane_alerts_refused_total.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from controlplane import jsonbody
from controlplane.errors import InvalidInput, StoreError, UnsupportedMediaType
from controlplane.observe.alert_names import AlertNames
from controlplane.observe.alerts import SEVERITIES, ZERO_TIME, Batch, read_batch
from controlplane.server.errors import error_reply, reported_value
from controlplane.server.record_replies import GettableAlerts, reply
from controlplane.server.state import STATE
from controlplane.store import Store, iso
from controlplane.store.alerts import AlertRecord

__all__ = ["ALERT_METRICS", "AlertMetrics", "routes"]

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
RECEIVER = "controlplane"           # the one receiver every alert here has reached
OTHER_SEVERITY = "(other)"          # the severity label of the metrics for any other value


class AlertMetrics:
    """The intake's counters, and the bounded set of alert names they and the store hold."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter("controlplane_alerts_received_total",
                                "Alerts received at the intake", ["alertname", "severity",
                                                                  "status"], registry=registry)
        self.refused = Counter("controlplane_alerts_refused_total",
                               "Alerts of a well-formed body refused at the intake: invalid, "
                               "or a new alert name past the limit (max_alert_names)",
                               ["reason"], registry=registry)
        self.delivery = Histogram("controlplane_alert_delivery_seconds",
                                  "From an alert's startsAt to its first receipt",
                                  buckets=(0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300),
                                  registry=registry)
        for reason in ("invalid", "alertname limit"):
            self.refused.labels(reason)
        self._names: AlertNames | None = None

    def names(self, store: Store, limit: int) -> AlertNames:
        """The names admitted so far, read from the store on the first batch."""
        if self._names is None:
            self._names = AlertNames(limit, store.alert_names(limit))
        return self._names


ALERT_METRICS = web.AppKey("alert_metrics", AlertMetrics)
Listener = Callable[[list[AlertRecord]], None]
ALERT_LISTENERS = web.AppKey("alert_listeners", list)


def _record(metrics: AlertMetrics, stored: list[AlertRecord]) -> None:
    for alert in stored:
        severity = alert.severity if alert.severity in SEVERITIES else OTHER_SEVERITY
        metrics.received.labels(alert.alertname, severity, alert.status).inc()
        if alert.receipts == 1:
            metrics.delivery.observe(max(0.0, alert.first_received_at - alert.starts_at))


@routes.post("/api/v2/alerts")
async def receive(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.store is None:
        raise StoreError("the control plane runs without a state directory; it cannot keep "
                         "alerts (start it with --state-dir)")
    _check_media(request)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error_reply(413, f"the body is larger than {state.settings.max_body_bytes} "
                           "bytes, the limit. Send fewer alerts per request (Alertmanager: "
                           "max_alerts in the webhook_config)", "(body)")
    now = state.clock()
    batch = read_batch(jsonbody.loads(body, field="(body)", empty=None), now)
    stored = _keep(request.app, state.store, batch, now)
    return web.json_response(_report(batch, len(stored)))


def _keep(app: web.Application, store: Store, batch: Batch, now: float) -> list[AlertRecord]:
    """Store the alerts of held names, count them and the refused, tell the listeners."""
    metrics = app[ALERT_METRICS]
    over_limit = metrics.names(store, app[STATE].settings.max_alert_names).refuse_new(batch)
    stored = store.receive_alerts(list(batch.alerts.values()), now)
    _record(metrics, stored)
    _count_refused(metrics, len(batch.invalid) - over_limit, over_limit)
    if batch.truncated:
        log.warning("an Alertmanager webhook left out %d alerts (its max_alerts)",
                    batch.truncated)
    for listener in app[ALERT_LISTENERS]:
        listener(stored)
    return stored


def _check_media(request: web.Request) -> None:
    """Only uncompressed JSON, as Prometheus and Alertmanager send it."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("the alert intake takes JSON", field="Content-Type",
                                   value=request.headers.get("Content-Type"),
                                   fix="Send Content-Type: application/json")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        raise UnsupportedMediaType("the alert intake takes an uncompressed body",
                                   field="Content-Encoding", value=encoding,
                                   fix="Send the JSON without a Content-Encoding")


def _count_refused(metrics: AlertMetrics, invalid: int, over_limit: int) -> None:
    if invalid:
        metrics.refused.labels("invalid").inc(invalid)
    if over_limit:
        metrics.refused.labels("alertname limit").inc(over_limit)


def _report(batch: Batch, received: int) -> dict[str, object]:
    return {"received": received,
            "invalid": [_invalid(i, batch.invalid[i]) for i in sorted(batch.invalid)],
            "ignored": batch.ignored}


def _invalid(index: int, err: InvalidInput) -> dict[str, object]:
    return {"index": index, "field": err.field, "value": reported_value(err.value),
            "message": str(err)}


@routes.get("/api/v2/alerts")
async def firing(request: web.Request) -> web.Response:
    store = request.app[STATE].store
    alerts = store.firing_alerts() if store is not None else []
    return web.json_response(reply(GettableAlerts, [_gettable(a) for a in alerts]))


def _gettable(alert: AlertRecord) -> dict[str, object]:
    """Alertmanager's gettableAlert. generatorURL, optional there, is not stored here."""
    return {"labels": alert.labels, "annotations": alert.annotations,
            "fingerprint": alert.fingerprint, "startsAt": iso(alert.starts_at),
            "endsAt": iso(alert.ends_at) or ZERO_TIME, "updatedAt": iso(alert.last_received_at),
            "receivers": [{"name": RECEIVER}],
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": [], "mutedBy": []}}
