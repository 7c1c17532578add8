"""One side of an order book: price levels, best first, each a FIFO queue in seq order."""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from testbed.matcher.orders import Resting, Side

__all__ = ["BookSide", "Level"]


@dataclass(frozen=True)
class Level:
    price_ticks: int
    orders: int
    quantity: int


class BookSide:
    """Bids (best = highest price) or asks (best = lowest price)."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self._prices: list[int] = []  # ascending
        self._levels: dict[int, deque[Resting]] = {}

    def prices(self) -> Iterator[int]:
        """Prices from best to worst."""
        return reversed(self._prices) if self.side == "buy" else iter(self._prices)

    def queue(self, price_ticks: int) -> deque[Resting]:
        return self._levels[price_ticks]

    def best(self) -> int | None:
        if not self._prices:
            return None
        return self._prices[-1] if self.side == "buy" else self._prices[0]

    def add(self, order: Resting) -> None:
        """Queue `order` at its price, behind every order with a lower seq."""
        level = self._levels.get(order.price_ticks)
        if level is None:
            bisect.insort(self._prices, order.price_ticks)
            level = self._levels[order.price_ticks] = deque()
        if not level or level[-1].seq < order.seq:
            level.append(order)
        else:
            index = bisect.bisect([o.seq for o in level], order.seq)
            level.insert(index, order)

    def remove(self, order: Resting) -> None:
        level = self._levels[order.price_ticks]
        level.remove(order)
        if not level:
            del self._levels[order.price_ticks]
            self._prices.remove(order.price_ticks)

    def depth(self, levels: int) -> list[Level]:
        """The best `levels` price levels: how many orders and how much quantity at each."""
        out: list[Level] = []
        for price in self.prices():
            if len(out) >= levels:
                break
            queue = self._levels[price]
            out.append(Level(price, len(queue), sum(o.remaining for o in queue)))
        return out

    def totals(self) -> tuple[int, int]:
        """(orders, quantity) resting on this side."""
        orders = sum(len(q) for q in self._levels.values())
        quantity = sum(o.remaining for q in self._levels.values() for o in q)
        return orders, quantity
