"""Chaos Toolkit probes of the controlplane extension: SLOs from Prometheus, a canary order,
the ledger's health from Patroni, and whether a run left any fault behind.

SLO probes return numbers so an experiment's tolerance decides; they read the gateway's RED
metrics over a short window (`window_s`), which the cluster scrapes every second.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
import uuid
from typing import Any

from chaoslib.types import Configuration, Secrets

from controlplane.chaos.config import engine_for, platform_for, run_id_for
from controlplane.observe.ledger import normalize_role
from controlplane.observe.prometheus import PrometheusClient

__all__ = ["all_targets_up", "canary_order", "has_slo_data", "ledger_healthy", "no_open_faults",
           "slo_availability", "slo_error_ratio", "slo_p99_ms"]


def _prometheus(configuration: Configuration) -> PrometheusClient:
    platform = platform_for(configuration)
    return PrometheusClient(platform.instances("prometheus")[0].endpoints["http"], timeout=3)


def _scalar(configuration: Configuration, expr: str, empty: float) -> float:
    samples = _prometheus(configuration).query(expr)
    if not samples or math.isnan(samples[0].value):
        return empty
    return samples[0].value


def slo_error_ratio(service: str = "gateway", window_s: int = 10,
                    configuration: Configuration = None, secrets: Secrets = None) -> float:
    """Share of the service's HTTP requests answered 5xx over the last `window_s` seconds
    (0 when there was no traffic)."""
    w = f"{int(window_s)}s"
    expr = (f'sum(rate(http_requests_total{{job="{service}",code=~"5.."}}[{w}])) / '
            f'sum(rate(http_requests_total{{job="{service}"}}[{w}]))')
    return _scalar(configuration, expr, 0.0)


def has_slo_data(service: str = "gateway", window_s: int = 10,
                 configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Prometheus holds a full window of scrapes of the service (at the 1 s interval), so
    one missed scrape weighs what it should."""
    expr = f'min(count_over_time(up{{job="{service}"}}[{int(window_s)}s]))'
    return _scalar(configuration, expr, 0.0) >= 0.9 * int(window_s)


def slo_availability(service: str = "gateway", window_s: int = 10,
                     configuration: Configuration = None, secrets: Secrets = None) -> float:
    """1 - error ratio, also counting scrapes the service missed (a dead service answers
    nothing, so its own counters cannot show the outage)."""
    w = f"{int(window_s)}s"
    up = _scalar(configuration, f'avg(avg_over_time(up{{job="{service}"}}[{w}]))', 0.0)
    return max(0.0, min(up, 1.0 - slo_error_ratio(service, window_s, configuration)))


def slo_p99_ms(service: str = "gateway", window_s: int = 10, route: str = "/v1/orders",
               configuration: Configuration = None, secrets: Secrets = None) -> float:
    """p99 latency of a route in milliseconds over the window (0 without traffic)."""
    w = f"{int(window_s)}s"
    expr = ("histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket"
            f'{{job="{service}",route="{route}"}}[{w}]))) * 1000')
    return _scalar(configuration, expr, 0.0)


def all_targets_up(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Every Prometheus scrape target answers (up == 1)."""
    targets = _prometheus(configuration).targets()
    return bool(targets) and all(t.health == "up" for t in targets)


def _post(url: str, body: dict[str, Any] | None, method: str, timeout: float) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"{}")


def canary_order(symbol: str = "AAPL", timeout_s: float = 2.0,
                 configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Place a small resting order far from the market and cancel it: the whole order path
    (gateway, risk, matcher, ledger commit) answered within `timeout_s` each way."""
    gateway = platform_for(configuration).instances("gateway")[0].endpoints["http"]
    try:
        quote = _post(f"{gateway}/v1/quotes/{symbol}", None, "GET", timeout_s)
        price = f"{float(quote['last_price']) * 0.95:.2f}"
        ack = _post(f"{gateway}/v1/orders", {
            "account": "canary", "symbol": symbol, "side": "buy", "type": "limit",
            "quantity": 1, "price": price, "client_order_id": uuid.uuid4().hex}, "POST",
            timeout_s)
        _post(f"{gateway}/v1/orders/{ack['order_id']}", None, "DELETE", timeout_s)
    except (urllib.error.URLError, OSError, KeyError, ValueError):
        return False
    return True


def ledger_healthy(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Exactly one primary and a streaming synchronous standby, by Patroni's REST API."""
    roles = []
    for inst in platform_for(configuration).instances("ledger"):
        try:
            with urllib.request.urlopen(inst.endpoints["api"] + "/patroni", timeout=2) as resp:
                status = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError):
            continue
        if status.get("state") == "running":
            roles.append(normalize_role(status))
    return roles.count("primary") == 1 and "sync_standby" in roles


def no_open_faults(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Nothing this run injected is still in force (or pending)."""
    engine = engine_for(configuration)
    return not engine.ctx.store.open_faults(run_id_for(configuration))
