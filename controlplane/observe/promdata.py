"""Typed results of the Prometheus HTTP API, parsed from the `data` of its JSON replies.

The JSON is handled as `Any` only inside this module; callers get dataclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controlplane.errors import PrometheusError

__all__ = ["Sample", "Series", "Target", "parse_samples", "parse_series", "parse_targets"]

_SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


@dataclass(frozen=True, slots=True)
class Sample:
    labels: Mapping[str, str]
    value: float
    timestamp: float


@dataclass(frozen=True, slots=True)
class Series:
    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]  # (timestamp, value), oldest first


@dataclass(frozen=True, slots=True)
class Target:
    scrape_pool: str
    job: str
    instance: str
    health: str  # "up", "down" or "unknown"
    last_error: str
    last_scrape: float | None  # epoch seconds; None if never scraped
    scrape_url: str
    labels: Mapping[str, str]


def parse_samples(data: Any, expr: str) -> list[Sample]:
    """An instant query's result; a scalar becomes one sample without labels."""
    try:
        kind, result = data["resultType"], data["result"]
        if kind == "scalar":
            return [Sample({}, float(result[1]), float(result[0]))]
        if kind == "vector":
            return [Sample(_labels(r["metric"]), float(r["value"][1]), float(r["value"][0]))
                    for r in result]
    except _SHAPE_ERRORS as err:
        raise _unexpected(f"query {expr!r}", err) from None
    raise PrometheusError(f"query {expr!r} returned a {kind}, not an instant vector or "
                          "scalar; use query_range for range vectors")


def parse_series(data: Any, expr: str) -> list[Series]:
    try:
        if data["resultType"] != "matrix":
            raise ValueError(f"resultType is {data['resultType']!r}, not 'matrix'")
        return [Series(_labels(r["metric"]), tuple((float(t), float(v)) for t, v in r["values"]))
                for r in data["result"]]
    except _SHAPE_ERRORS as err:
        raise _unexpected(f"query {expr!r}", err) from None


def parse_targets(data: Any) -> list[Target]:
    try:
        return [_target(raw) for raw in data["activeTargets"]]
    except _SHAPE_ERRORS as err:
        raise _unexpected("/api/v1/targets", err) from None


def _target(raw: Any) -> Target:
    labels = _labels(raw.get("labels", {}))
    return Target(
        scrape_pool=str(raw.get("scrapePool", "")), job=labels.get("job", ""),
        instance=labels.get("instance", ""), health=str(raw.get("health", "unknown")),
        last_error=str(raw.get("lastError", "")), last_scrape=_epoch(raw.get("lastScrape")),
        scrape_url=str(raw.get("scrapeUrl", "")), labels=labels)


def _epoch(rfc3339: Any) -> float | None:
    """Epoch seconds of an RFC 3339 time; None for Prometheus's zero time (never scraped)."""
    if not rfc3339 or str(rfc3339).startswith("0001-01-01"):
        return None
    return datetime.fromisoformat(str(rfc3339)).timestamp()


def _labels(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()}


def _unexpected(what: str, err: Exception) -> PrometheusError:
    return PrometheusError(f"unexpected reply from Prometheus to {what}: {err!r}")
