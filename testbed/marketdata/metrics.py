"""marketdata metrics: quote age computed at scrape time, updates counted per symbol."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from testbed.marketdata.quotes import QuoteStore

__all__ = ["MarketdataMetrics", "QuoteAgeCollector"]

_AGE = "marketdata_quote_age_seconds"


class QuoteAgeCollector(Collector):
    def __init__(self, store: QuoteStore) -> None:
        self._store = store

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(_AGE, "Seconds since the quote last changed", labels=["symbol"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(_AGE, "Seconds since the quote last changed",
                                   labels=["symbol"])
        for symbol in self._store.symbols():
            family.add_metric([symbol], self._store.age(symbol))
        yield family


class MarketdataMetrics:
    def __init__(self, registry: CollectorRegistry, store: QuoteStore) -> None:
        registry.register(QuoteAgeCollector(store))
        self.updates = Counter("marketdata_updates_total", "Quote updates taken, per symbol",
                               ["symbol"], registry=registry)
