"""Alerts as Prometheus (or an Alertmanager) posts them: `POST /api/v2/alerts` with a JSON
array of {labels, annotations, startsAt, endsAt, generatorURL}. The whole batch is checked
before anything is stored, so a malformed payload stores nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controlplane.errors import InvalidInput

__all__ = ["AlertIn", "fingerprint", "parse_alerts"]

SEVERITIES = ("info", "warning", "critical", "page")
MAX_ALERTS = 1000


@dataclass(frozen=True)
class AlertIn:
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    ends_at: float | None
    generator_url: str

    @property
    def alertname(self) -> str:
        return self.labels["alertname"]

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "warning")

    def resolved(self, now: float) -> bool:
        return self.ends_at is not None and self.ends_at <= now


def fingerprint(labels: dict[str, str]) -> str:
    """Stable id of a label set (what makes two alerts the same alert)."""
    text = "\x00".join(f"{k}\x01{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _time(value: Any, field: str, now: float) -> float | None:
    if value in (None, "", "0001-01-01T00:00:00Z"):
        return None
    if not isinstance(value, str):
        raise InvalidInput("must be an RFC 3339 time string", field=field, value=value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidInput("not an RFC 3339 time", field=field, value=value,
                           fix="Use e.g. 2026-11-24T10:00:00Z") from None


def _strings(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidInput("must be an object of strings", field=field, value=value)
    return dict(value)


def _one(item: Any, i: int, now: float) -> AlertIn:
    if not isinstance(item, dict):
        raise InvalidInput("an alert is a JSON object", field=f"[{i}]", value=item)
    labels = _strings(item.get("labels"), f"[{i}].labels")
    if not labels.get("alertname"):
        raise InvalidInput("an alert needs labels.alertname", field=f"[{i}].labels.alertname",
                           value=labels or None)
    severity = labels.get("severity", "warning")
    if severity not in SEVERITIES:
        raise InvalidInput("unknown severity", field=f"[{i}].labels.severity", value=severity,
                           fix=f"Use one of {', '.join(SEVERITIES)}")
    starts = _time(item.get("startsAt"), f"[{i}].startsAt", now) or now
    ends = _time(item.get("endsAt"), f"[{i}].endsAt", now)
    url = item.get("generatorURL") or ""
    if not isinstance(url, str):
        raise InvalidInput("must be a string", field=f"[{i}].generatorURL", value=url)
    return AlertIn(fingerprint(labels), labels, _strings(item.get("annotations"),
                   f"[{i}].annotations"), starts, ends, url)


def parse_alerts(payload: Any, now: float) -> list[AlertIn]:
    if not isinstance(payload, list):
        raise InvalidInput("the body is a JSON array of alerts", field="(body)",
                           value=type(payload).__name__)
    if len(payload) > MAX_ALERTS:
        raise InvalidInput(f"at most {MAX_ALERTS} alerts per request", field="(body)",
                           value=len(payload))
    return [_one(item, i, now) for i, item in enumerate(payload)]
