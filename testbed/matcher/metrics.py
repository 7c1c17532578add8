"""The matcher's metrics; book depth is read from the books at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from testbed.matcher.orderbook import OrderBook

__all__ = ["BookDepthCollector", "MatcherMetrics"]

_COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class BookDepthCollector(Collector):
    """orderbook_depth_orders and orderbook_depth_quantity per symbol and side."""

    def __init__(self, books: Callable[[], Mapping[str, OrderBook]]) -> None:
        self._books = books

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        orders, quantity = self._families()
        for symbol, book in sorted(self._books().items()):
            for side in ("buy", "sell"):
                count, total = book.totals(side)
                orders.add_metric([symbol, side], count)
                quantity.add_metric([symbol, side], total)
        yield orders
        yield quantity

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("orderbook_depth_orders", "Orders resting on the book",
                                  labels=["symbol", "side"]),
                GaugeMetricFamily("orderbook_depth_quantity", "Quantity resting on the book",
                                  labels=["symbol", "side"]))


class MatcherMetrics:
    def __init__(self, registry: CollectorRegistry, symbols: list[str],
                 books: Callable[[], Mapping[str, OrderBook]]) -> None:
        registry.register(BookDepthCollector(books))
        self.queue_depth = Gauge("matcher_queue_depth", "Requests waiting on the symbol's lock",
                                 ["symbol"], registry=registry)
        self.orders = Counter("matcher_orders_total", "New orders by result", ["result"],
                              registry=registry)
        self.cancels = Counter("matcher_cancels_total", "Cancels by result", ["result"],
                               registry=registry)
        self.trades = Counter("matcher_trades_total", "Trades committed", ["symbol"],
                              registry=registry)
        self.ledger_retries = Counter("matcher_ledger_retries_total",
                                      "Ledger transactions retried after a connection error",
                                      registry=registry)
        self.commit_seconds = Histogram("matcher_commit_seconds",
                                        "Time of a committed ledger transaction",
                                        buckets=_COMMIT_BUCKETS, registry=registry)
        self.book_reloads = Counter("matcher_book_reloads_total",
                                    "Books rebuilt from the ledger", ["symbol"], registry=registry)
        self.marketdata_dropped = Counter("matcher_marketdata_dropped_total",
                                          "Quote updates not delivered to marketdata",
                                          ["reason"], registry=registry)
        for symbol in symbols:
            self.queue_depth.labels(symbol=symbol)
            self.trades.labels(symbol=symbol)
        for result in ("accepted", "rejected", "unavailable", "error", "misdirected"):
            self.orders.labels(result=result)
        for result in ("cancelled", "rejected", "unavailable", "error", "misdirected"):
            self.cancels.labels(result=result)
