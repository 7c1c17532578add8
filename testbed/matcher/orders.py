"""The values the order book trades in: incoming orders, resting orders, fills and match plans.

Prices are integer ticks and quantities integer units; nothing here is a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Fill", "MatchPlan", "Order", "OrderType", "Resting", "Side", "Status", "opposite"]

Side = Literal["buy", "sell"]
OrderType = Literal["limit", "market"]
Status = Literal["new", "partially_filled", "filled", "cancelled"]


def opposite(side: Side) -> Side:
    return "sell" if side == "buy" else "buy"


@dataclass(frozen=True)
class Order:
    """An incoming order. Limit orders carry a price; market orders must not."""

    order_id: str
    account: str
    side: Side
    type: OrderType
    quantity: int
    price_ticks: int | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"quantity must be positive (got {self.quantity})")
        if self.type == "limit" and (self.price_ticks is None or self.price_ticks <= 0):
            raise ValueError(f"a limit order needs a positive price (got {self.price_ticks})")
        if self.type == "market" and self.price_ticks is not None:
            raise ValueError("a market order must not have a price")


@dataclass
class Resting:
    """An order on the book. `seq` (the ledger's ack sequence) orders time priority."""

    order_id: str
    account: str
    side: Side
    price_ticks: int
    quantity: int
    remaining: int
    seq: int

    @property
    def filled(self) -> int:
        return self.quantity - self.remaining


@dataclass(frozen=True)
class Fill:
    """One execution against a resting order, at the resting order's price."""

    resting_order_id: str
    resting_account: str
    price_ticks: int
    quantity: int
    resting_remaining: int  # what is left of the resting order after this fill


@dataclass(frozen=True)
class MatchPlan:
    """What matching `order` would do to the book at `version`, computed without changing it."""

    order: Order
    fills: tuple[Fill, ...]
    version: int

    @property
    def filled(self) -> int:
        return sum(fill.quantity for fill in self.fills)

    @property
    def residual(self) -> int:
        return self.order.quantity - self.filled

    @property
    def rests(self) -> bool:
        """Limit orders rest their residual; market orders never rest."""
        return self.order.type == "limit" and self.residual > 0

    @property
    def cancelled(self) -> int:
        """The unfilled quantity of a market order, cancelled rather than rested."""
        return 0 if self.rests else self.residual

    @property
    def status(self) -> Status:
        if self.residual == 0:
            return "filled"
        if not self.rests:
            return "cancelled"
        return "partially_filled" if self.filled else "new"
