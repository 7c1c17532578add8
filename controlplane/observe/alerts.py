"""Alerts as Prometheus or an Alertmanager posts them to `POST /api/v2/alerts`, in either of
Alertmanager's two shapes (read in prometheus/alertmanager at 68fb2d57, v0.34.0-20):

- a JSON array of alerts {labels, annotations, startsAt, endsAt, generatorURL}: what
  Prometheus's notifier posts, Alertmanager's own `postableAlerts` (api/v2/openapi.yaml);
- an Alertmanager webhook notification: an object {"version": "4", "groupKey",
  "truncatedAlerts", "receiver", "status", "alerts", "groupLabels", "commonLabels",
  "commonAnnotations", "externalURL", ...} whose alerts also carry status and fingerprint
  (notify/webhook/webhook.go `Message`, template/template.go `Data` and `Alert`).

Each alert is judged on its own (`read_batch`): the valid ones come back with the errors of
the invalid ones, by index. Only a body of neither shape is refused whole. Fields neither
shape defines are ignored, as Alertmanager's decoder ignores them, and named in the batch.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controlplane.errors import InvalidInput

__all__ = ["SEVERITIES", "ZERO_TIME", "AlertIn", "Batch", "fingerprint", "parse_alerts",
           "read_batch"]

SEVERITIES = ("info", "warning", "critical", "page")
MAX_ALERTS = 1000
MAX_IGNORED = 20
ALERT_FIELDS = frozenset({"labels", "annotations", "startsAt", "endsAt", "generatorURL",
                          "status", "fingerprint"})     # the webhook's; Prometheus's are 5 of them
WEBHOOK_FIELDS = frozenset({"version", "groupKey", "truncatedAlerts", "receiver", "status",
                            "alerts", "groupLabels", "commonLabels", "commonAnnotations",
                            "externalURL", "notification_reason", "routeLabels"})
WEBHOOK_VERSION = "4"
ZERO_TIME = "0001-01-01T00:00:00Z"      # Go's zero time: a firing alert's endsAt in a webhook
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


@dataclass(frozen=True)
class AlertIn:
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    ends_at: float | None
    generator_url: str
    said_resolved: bool = False             # the webhook's status: "resolved"

    @property
    def alertname(self) -> str:
        return self.labels["alertname"]

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "warning")

    def resolved(self, now: float) -> bool:
        return self.said_resolved or (self.ends_at is not None and self.ends_at <= now)


@dataclass
class Batch:
    """A body's alerts, each valid one or the error of each invalid one, by index."""

    prefix: str = ""                        # what names its alerts: "" or, in a webhook, "alerts"
    alerts: dict[int, AlertIn] = field(default_factory=dict)
    invalid: dict[int, InvalidInput] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)    # unknown fields, first of each name
    truncated: int = 0                      # alerts the webhook left out (its max_alerts)
    _names: set[str] = field(default_factory=set, repr=False)

    def where(self, index: int) -> str:
        return f"{self.prefix}[{index}]"

    def ignore(self, where: str, name: str) -> None:
        if name not in self._names and len(self.ignored) < MAX_IGNORED:
            self._names.add(name)
            name = name if len(name) <= 60 else name[:57] + "..."
            self.ignored.append(f"{where}.{name}" if where else name)


def fingerprint(labels: dict[str, str]) -> str:
    """Stable id of a label set (what makes two alerts the same alert)."""
    text = "\x00".join(f"{k}\x01{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_batch(payload: Any, now: float) -> Batch:
    """Every alert of a body judged on its own; InvalidInput only for a body of neither
    shape (then nothing of it is to be stored)."""
    batch = Batch()
    items = _alert_list(payload, batch)
    for i, item in enumerate(items):
        try:
            batch.alerts[i] = _one(item, batch.where(i), now, batch)
        except InvalidInput as err:
            batch.invalid[i] = err
    return batch


def parse_alerts(payload: Any, now: float) -> list[AlertIn]:
    """All the alerts of a body, or the first invalid one's error."""
    batch = read_batch(payload, now)
    if batch.invalid:
        raise next(iter(batch.invalid.values()))
    return list(batch.alerts.values())


def _alert_list(payload: Any, batch: Batch) -> list[Any]:
    if isinstance(payload, dict):
        items, batch.prefix = _webhook(payload, batch), "alerts"
    elif isinstance(payload, list):
        items = payload
    else:
        raise InvalidInput("the body is a JSON array of alerts or an Alertmanager webhook "
                           "object", field="(body)", value=type(payload).__name__,
                           fix='Send [{"labels": {"alertname": ...}}, ...] or {"version": '
                               '"4", "alerts": [...]}')
    if len(items) > MAX_ALERTS:
        raise InvalidInput(f"at most {MAX_ALERTS} alerts per request",
                           field=batch.prefix or "(body)",
                           value=len(items), fix="Send smaller batches (Alertmanager: set "
                                                 "max_alerts in the webhook_config)")
    return items


def _webhook(payload: dict[str, Any], batch: Batch) -> list[Any]:
    version = payload.get("version")
    if version != WEBHOOK_VERSION:
        raise InvalidInput(f"an object body is an Alertmanager webhook notification, version "
                           f"{WEBHOOK_VERSION}", field="version", value=version,
                           fix='Send {"version": "4", "alerts": [...]}, or a JSON array of '
                               'alerts')
    items = payload.get("alerts")
    if not isinstance(items, list):
        raise InvalidInput("must be a JSON array of alerts", field="alerts", value=items,
                           fix="See Alertmanager's webhook_config documentation")
    truncated = payload.get("truncatedAlerts", 0)
    batch.truncated = truncated if isinstance(truncated, int) and truncated > 0 else 0
    for name in sorted(set(payload) - WEBHOOK_FIELDS):
        batch.ignore("", name)
    return items


def _one(item: Any, where: str, now: float, batch: Batch) -> AlertIn:
    if not isinstance(item, dict):
        raise InvalidInput("an alert is a JSON object", field=where, value=item,
                           fix='Send {"labels": {"alertname": ...}, ...}')
    labels = _strings(item.get("labels"), f"{where}.labels")
    if not labels.get("alertname"):
        raise InvalidInput("an alert needs labels.alertname", field=f"{where}.labels.alertname",
                           value=labels or None, fix="Name the alert in its labels")
    alert = AlertIn(fingerprint(labels), labels,
                    _strings(item.get("annotations"), f"{where}.annotations"),
                    _time(item.get("startsAt"), f"{where}.startsAt") or now,
                    _time(item.get("endsAt"), f"{where}.endsAt"),
                    _string(item.get("generatorURL"), f"{where}.generatorURL"),
                    _resolved(item.get("status"), f"{where}.status"))
    _string(item.get("fingerprint"), f"{where}.fingerprint")   # ours comes from the labels
    for name in sorted(set(item) - ALERT_FIELDS):
        batch.ignore(where, name)
    return alert


def _time(value: Any, where: str) -> float | None:
    if value in (None, "", ZERO_TIME):
        return None
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise InvalidInput("not an RFC 3339 time", field=where, value=value,
                           fix="Use e.g. 2026-11-24T10:00:00Z or 2026-11-24T11:00:00.5+01:00")
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        raise InvalidInput("not a valid time", field=where, value=value,
                           fix="Use e.g. 2026-11-24T10:00:00Z") from None


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()):
        raise InvalidInput("must be an object of strings, with names not empty", field=where,
                           value=value, fix='Quote every value, e.g. {"instance": "gateway-0"}')
    return dict(value)


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("must be a string", field=where, value=value,
                           fix="Send it as a JSON string, or leave it out")
    return value


def _resolved(value: Any, where: str) -> bool:
    if value not in (None, "firing", "resolved"):
        raise InvalidInput("must be firing or resolved", field=where, value=value,
                           fix="Send the status Alertmanager sends, or leave it out")
    return value == "resolved"
