"""Acknowledgements the matcher returns: built from a committed plan, or read back from the
ledger when an earlier attempt's commit turned out to have gone through."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from testbed.ledger.queries import OrderRow, TradeRow
from testbed.matcher.orders import MatchPlan

__all__ = ["Ack", "AckFill", "CancelAck", "ack_from_ledger", "ack_from_plan"]


@dataclass(frozen=True)
class AckFill:
    trade_id: int
    price_ticks: int
    quantity: int
    counter_order_id: str


@dataclass(frozen=True)
class Ack:
    order_id: str
    symbol: str
    seq: int
    status: str
    filled: int
    remaining: int  # still resting on the book
    cancelled: int  # unfilled quantity of a market order, not rested
    fills: tuple[AckFill, ...]
    recovered: bool = False  # read back from the ledger after an in-doubt commit

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"fills": [asdict(f) for f in self.fills]}


@dataclass(frozen=True)
class CancelAck:
    order_id: str
    symbol: str
    seq: int
    status: str
    filled: int
    cancelled: int  # the quantity that was still open

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def ack_from_plan(symbol: str, plan: MatchPlan, seq: int, trade_ids: dict[str, int]) -> Ack:
    fills = tuple(AckFill(trade_ids[f.resting_order_id], f.price_ticks, f.quantity,
                          f.resting_order_id) for f in plan.fills)
    return Ack(plan.order.order_id, symbol, seq, plan.status, plan.filled,
               plan.residual if plan.rests else 0, plan.cancelled, fills)


def ack_from_ledger(row: OrderRow, trades: list[TradeRow]) -> Ack:
    """The ack of an order as committed: its own fills are the trades with its seq."""
    fills = tuple(AckFill(t.trade_id, t.price_ticks, t.quantity, t.counter_order_id(row.order_id))
                  for t in trades if t.seq == row.seq)
    filled_at_ack = sum(f.quantity for f in fills)
    unfilled = row.quantity - filled_at_ack
    rests = row.type == "limit"
    return Ack(row.order_id, row.symbol, row.seq, _status_at_ack(row, filled_at_ack),
               filled_at_ack, unfilled if rests else 0, 0 if rests else unfilled, fills,
               recovered=True)


def _status_at_ack(row: OrderRow, filled: int) -> str:
    if filled == row.quantity:
        return "filled"
    if row.type == "market":
        return "cancelled"
    return "partially_filled" if filled else "new"
