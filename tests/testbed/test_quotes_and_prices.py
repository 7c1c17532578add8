"""marketdata's quotes and the gateway's last-price cache, on fake clocks."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter

from testbed.gateway.prices import LastPrices, price_of_quote
from testbed.marketdata.metrics import MarketdataMetrics
from testbed.marketdata.quotes import QuoteStore, QuoteUpdate
from testbed.trading import Trading


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_before_any_trade_the_quote_is_the_reference_price(trading: Trading) -> None:
    clock = Clock()
    store = QuoteStore(trading, clock)
    quote = store.quote("AAPL")
    assert quote["last_price"] == "190.00" and quote["bid"] is None and quote["ask"] is None
    assert quote["stale"] is False and quote["age_seconds"] == 0
    clock.now += 5.5
    assert store.quote("AAPL")["stale"] is True and store.quote("AAPL")["age_seconds"] == 5.5


def test_updates_render_prices_with_the_tick(trading: Trading) -> None:
    clock = Clock()
    store = QuoteStore(trading, clock)
    clock.now += 10
    assert store.apply(QuoteUpdate(symbol="MSFT", last_price_ticks=41005, last_quantity=3,
                                   bid_ticks=41000, bid_size=7, ask_ticks=41010, ask_size=2,
                                   seq=5))
    quote = store.quote("MSFT")
    assert (quote["last_price"], quote["last_quantity"], quote["bid"], quote["bid_size"],
            quote["ask"], quote["ask_size"]) == ("410.05", 3, "410.00", 7, "410.10", 2)
    assert quote["stale"] is False and quote["updated_at"].startswith("2023-11-14T22:13:30")


def test_a_book_only_update_keeps_the_last_trade(trading: Trading) -> None:
    store = QuoteStore(trading, Clock())
    store.apply(QuoteUpdate(symbol="AAPL", last_price_ticks=19001, last_quantity=1, seq=1))
    store.apply(QuoteUpdate(symbol="AAPL", bid_ticks=18000, bid_size=1, seq=2))
    quote = store.quote("AAPL")
    assert quote["last_price"] == "190.01" and quote["bid"] == "180.00"


def test_older_updates_are_ignored(trading: Trading) -> None:
    store = QuoteStore(trading, Clock())
    assert store.apply(QuoteUpdate(symbol="AAPL", last_price_ticks=19002, seq=9))
    assert not store.apply(QuoteUpdate(symbol="AAPL", last_price_ticks=19001, seq=8))
    assert store.quote("AAPL")["last_price"] == "190.02"


def test_quote_age_is_computed_at_scrape_time(trading: Trading) -> None:
    clock, registry = Clock(), CollectorRegistry()
    store = QuoteStore(trading, clock)
    MarketdataMetrics(registry, store)
    clock.now += 2
    assert registry.get_sample_value("marketdata_quote_age_seconds", {"symbol": "XOM"}) == 2
    store.apply(QuoteUpdate(symbol="XOM", last_price_ticks=11500))
    assert registry.get_sample_value("marketdata_quote_age_seconds", {"symbol": "XOM"}) == 0


def test_price_of_quote() -> None:
    assert price_of_quote({"last_price": "190.05"}) == Decimal("190.05")
    for bad in (None, [], {}, {"last_price": 190}, {"last_price": "x"}, {"last_price": "-1"},
                {"last_price": "NaN"}):
        assert price_of_quote(bad) is None


def test_last_prices_are_cached_for_the_ttl(trading: Trading) -> None:
    clock, calls = Clock(0), []

    async def fetch(symbol: str) -> object:
        calls.append(symbol)
        return {"last_price": f"{190 + len(calls)}.00"}

    prices = LastPrices(trading, fetch, Counter("f", "f", registry=CollectorRegistry()),
                        ttl=1.0, clock=clock)

    async def scenario() -> list[Decimal]:
        first = await prices.get("AAPL")
        clock.now = 0.9
        second = await prices.get("AAPL")
        clock.now = 1.0
        third = await prices.get("AAPL")
        return [first, second, third]

    assert asyncio.run(scenario()) == [Decimal("191.00"), Decimal("191.00"), Decimal("192.00")]
    assert calls == ["AAPL", "AAPL"]


def test_last_prices_fall_back_to_the_reference(trading: Trading) -> None:
    registry = CollectorRegistry()
    fallbacks = Counter("fallbacks", "f", registry=registry)

    async def unreachable(symbol: str) -> object:
        raise ConnectionRefusedError(symbol)

    async def nonsense(symbol: str) -> object:
        return {"error": "?"}

    for fetch in (unreachable, nonsense):
        prices = LastPrices(trading, fetch, fallbacks, clock=Clock(0))
        assert asyncio.run(prices.get("TSLA")) == Decimal("250.00")
    assert registry.get_sample_value("fallbacks_total") == 2
