"""A price-time-priority limit order book for one symbol: pure and synchronous.

Matching is split in two so that the ledger can commit before memory changes:
`plan(order)` computes the fills and the residual without touching the book, and
`apply(plan, seq)` carries them out. A plan only applies to the book version it was
computed on; anything else raises `StalePlan`.
"""

from __future__ import annotations

from testbed.matcher.levels import BookSide, Level
from testbed.matcher.orders import Fill, MatchPlan, Order, Resting, Side

__all__ = ["Level", "OrderBook", "StalePlan"]


class StalePlan(Exception):
    """The book changed between `plan` and `apply`."""


class OrderBook:
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.version = 0
        self._sides = {"buy": BookSide("buy"), "sell": BookSide("sell")}
        self._index: dict[str, Resting] = {}

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._index

    def __len__(self) -> int:
        return len(self._index)

    def get(self, order_id: str) -> Resting | None:
        return self._index.get(order_id)

    def plan(self, order: Order) -> MatchPlan:
        """The fills `order` would get, best price first and oldest first within a price."""
        book = self._sides["sell" if order.side == "buy" else "buy"]
        remaining = order.quantity
        fills: list[Fill] = []
        for price in book.prices():
            if remaining == 0 or not _crosses(order, price):
                break
            for resting in book.queue(price):
                if remaining == 0:
                    break
                quantity = min(remaining, resting.remaining)
                fills.append(Fill(resting.order_id, resting.account, price, quantity,
                                  resting.remaining - quantity))
                remaining -= quantity
        return MatchPlan(order, tuple(fills), self.version)

    def apply(self, plan: MatchPlan, seq: int) -> Resting | None:
        """Carry out `plan`; the residual of a limit order rests with time priority `seq`."""
        if plan.version != self.version:
            raise StalePlan(f"{self.symbol}: plan for version {plan.version}, book is at "
                            f"{self.version}")
        if plan.order.order_id in self._index:
            raise ValueError(f"{self.symbol}: order {plan.order.order_id} is already on the book")
        for fill in plan.fills:
            resting = self._index[fill.resting_order_id]
            resting.remaining -= fill.quantity
            if resting.remaining == 0:
                self._remove(resting)
        self.version += 1
        if not plan.rests:
            return None
        order = plan.order
        assert order.price_ticks is not None
        rested = Resting(order.order_id, order.account, order.side, order.price_ticks,
                         order.quantity, plan.residual, seq)
        self.add_resting(rested)
        return rested

    def add_resting(self, order: Resting) -> None:
        """Put an order on the book as it is (rebuilding from the ledger, in any order)."""
        if order.order_id in self._index:
            raise ValueError(f"{self.symbol}: order {order.order_id} is already on the book")
        if order.remaining <= 0:
            raise ValueError(f"{self.symbol}: order {order.order_id} has nothing remaining")
        self._sides[order.side].add(order)
        self._index[order.order_id] = order
        self.version += 1

    def cancel(self, order_id: str) -> Resting | None:
        """Take a resting order off the book; None when it is not on the book."""
        order = self._index.get(order_id)
        if order is not None:
            self._remove(order)
            self.version += 1
        return order

    def best_bid(self) -> int | None:
        return self._sides["buy"].best()

    def best_ask(self) -> int | None:
        return self._sides["sell"].best()

    def depth(self, side: Side, levels: int = 10) -> list[Level]:
        return self._sides[side].depth(levels)

    def totals(self, side: Side) -> tuple[int, int]:
        """(orders, quantity) resting on `side`."""
        return self._sides[side].totals()

    def _remove(self, order: Resting) -> None:
        self._sides[order.side].remove(order)
        del self._index[order.order_id]


def _crosses(order: Order, price_ticks: int) -> bool:
    if order.type == "market":
        return True
    assert order.price_ticks is not None
    if order.side == "buy":
        return price_ticks <= order.price_ticks
    return price_ticks >= order.price_ticks

