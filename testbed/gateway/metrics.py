"""The gateway's business metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from testbed.gateway.risk import RULES

__all__ = ["GatewayMetrics"]

_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.orders = Counter("gateway_orders_total",
                              "New orders by result: accepted, rejected or error", ["result"],
                              registry=registry)
        self.rejections = Counter("gateway_rejections_total",
                                  "Rejected orders by rule (validation, a risk rule, matcher)",
                                  ["rule"], registry=registry)
        self.ack_seconds = Histogram("gateway_order_ack_seconds",
                                     "Time from receiving an order to acknowledging it",
                                     buckets=_ACK_BUCKETS, registry=registry)
        self.price_fallbacks = Counter("gateway_price_fallbacks_total",
                                       "Price-band checks that used the reference price because "
                                       "marketdata had no answer", registry=registry)
        self.matcher_redirects = Counter(
            "gateway_matcher_redirects_total",
            "Orders and cancels sent again because a matcher no longer owned the symbol "
            "(a resharding in progress)", registry=registry)
        for result in ("accepted", "rejected", "error"):
            self.orders.labels(result=result)
        for rule in ("validation", *RULES, "matcher"):
            self.rejections.labels(rule=rule)

    def rejected(self, rule: str) -> None:
        self.orders.labels(result="rejected").inc()
        self.rejections.labels(rule=rule).inc()
