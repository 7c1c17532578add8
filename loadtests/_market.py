"""What trading users share: the symbols, their last prices, and prices inside the risk band.

Not a locustfile (the leading underscore keeps `locust -f loadtests/` from loading it).
Prices come from the gateway's quotes; the reference prices of `testbed/trading.yaml` stand in
until the first quote arrives, so a limit price is always near the last trade and inside the
gateway's +-10% price band.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["MARKET", "REFERENCE", "Market", "account_name"]

REFERENCE = {"AAPL": "190.00", "MSFT": "410.00", "NVDA": "120.00", "AMZN": "185.00",
             "GOOG": "170.00", "TSLA": "250.00", "JPM": "200.00", "XOM": "115.00"}
TICK = Decimal("0.01")


class Market:
    """Last prices per symbol, as this process last saw them (shared by its users)."""

    def __init__(self) -> None:
        self.last = {symbol: Decimal(price) for symbol, price in REFERENCE.items()}

    def update(self, body: Any) -> None:
        """Take the last prices from a GET /v1/quotes or /v1/quotes/{symbol} body."""
        quotes = body.get("quotes", [body]) if isinstance(body, dict) else []
        for quote in quotes:
            if isinstance(quote, dict) and quote.get("symbol") in self.last \
                    and isinstance(quote.get("last_price"), str):
                self.last[quote["symbol"]] = Decimal(quote["last_price"])

    def symbol(self) -> str:
        return random.choice(tuple(self.last))

    def price(self, symbol: str, side: str, *, spread_pct: float = 1.0,
              cross: bool = False) -> str:
        """A limit price within `spread_pct` % of the last price: below it for a passive buy,
        above it for a passive sell, the other way round when `cross` is set."""
        offset = Decimal(str(random.uniform(0.0, spread_pct))) / 100
        below = (side == "buy") != cross
        factor = 1 - offset if below else 1 + offset
        return str((self.last[symbol] * factor).quantize(TICK, rounding=ROUND_HALF_UP))


def account_name(kind: str) -> str:
    return f"{kind}-{random.getrandbits(32):08x}"


MARKET = Market()
