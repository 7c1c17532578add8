"""The last trade price per symbol for the price band, cached for about a second.

When marketdata cannot be reached (or answers nonsense) the reference price stands in, and
that answer is cached too, so an outage of marketdata costs one slow call per symbol per
second, not one per order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation

from prometheus_client import Counter

from testbed.trading import Trading

__all__ = ["Fetch", "LastPrices", "price_of_quote"]

log = logging.getLogger(__name__)

# Fetch the quote of a symbol from marketdata: its JSON body, or None when unavailable.
Fetch = Callable[[str], Awaitable[object]]


def price_of_quote(quote: object) -> Decimal | None:
    """The positive `last_price` of a marketdata quote, or None."""
    if not isinstance(quote, dict) or not isinstance(quote.get("last_price"), str):
        return None
    try:
        price = Decimal(quote["last_price"])
    except InvalidOperation:
        return None
    return price if price.is_finite() and price > 0 else None


class LastPrices:
    def __init__(self, trading: Trading, fetch: Fetch, fallbacks: Counter, *,
                 ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._trading = trading
        self._fetch = fetch
        self._fallbacks = fallbacks
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[Decimal, float]] = {}

    async def get(self, symbol: str) -> Decimal:
        cached = self._cache.get(symbol)
        now = self._clock()
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        price = await self._fetch_price(symbol)
        if price is None:
            self._fallbacks.inc()
            price = self._trading.symbols[symbol].reference_price
        self._cache[symbol] = (price, now)
        return price

    async def _fetch_price(self, symbol: str) -> Decimal | None:
        try:
            return price_of_quote(await self._fetch(symbol))
        except Exception as exc:  # noqa: BLE001 - any failure means "use the reference"
            log.debug("no last price for %s from marketdata: %s", symbol, exc)
            return None
