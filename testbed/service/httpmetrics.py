"""RED metrics for an HTTP server, registered on the registry it is given."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["LATENCY_BUCKETS", "HttpMetrics"]

# 1 ms .. 5 s
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests_total", "HTTP requests answered, by route template, method and status",
            ["route", "method", "code"], registry=registry)
        self.duration = Histogram(
            "http_request_duration_seconds", "Time to answer an HTTP request",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=registry)
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being answered", registry=registry)

    def observe(self, route: str, method: str, code: int, seconds: float) -> None:
        self.requests.labels(route=route, method=method, code=str(code)).inc()
        self.duration.labels(route=route, method=method).observe(seconds)
