"""Reads of the ledger shared by the gateway and the matchers, as typed rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from testbed.service.dbsession import Session

__all__ = ["OPEN_STATUSES", "OrderRow", "Position", "TradeRow", "find_order",
           "find_order_by_client_id", "open_orders", "positions", "trades_of_order"]

OPEN_STATUSES = ("new", "partially_filled")

_ORDER_COLUMNS = ("order_id, seq, account, client_order_id, symbol, side, type, price_ticks, "
                  "quantity, filled, status, cancel_seq, created_at, updated_at")
_TRADE_COLUMNS = ("trade_id, seq, symbol, price_ticks, quantity, buy_order_id, sell_order_id, "
                  "buy_account, sell_account, aggressor_side, created_at")


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    seq: int
    account: str
    client_order_id: str | None
    symbol: str
    side: str
    type: str
    price_ticks: int | None
    quantity: int
    filled: int
    status: str
    cancel_seq: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @classmethod
    def of(cls, record: asyncpg.Record) -> OrderRow:
        return cls(**{**dict(record), "order_id": str(record["order_id"])})


@dataclass(frozen=True)
class TradeRow:
    trade_id: int
    seq: int
    symbol: str
    price_ticks: int
    quantity: int
    buy_order_id: str
    sell_order_id: str
    buy_account: str
    sell_account: str
    aggressor_side: str
    created_at: datetime

    @classmethod
    def of(cls, record: asyncpg.Record) -> TradeRow:
        return cls(**{**dict(record), "buy_order_id": str(record["buy_order_id"]),
                      "sell_order_id": str(record["sell_order_id"])})

    def counter_order_id(self, order_id: str) -> str:
        return self.sell_order_id if self.buy_order_id == order_id else self.buy_order_id


@dataclass(frozen=True)
class Position:
    symbol: str
    bought: int
    sold: int

    @property
    def net(self) -> int:
        return self.bought - self.sold


async def find_order(session: Session, order_id: str, *,
                     for_update: bool = False) -> OrderRow | None:
    lock = " for update" if for_update else ""
    record = await session.fetchrow(
        f"select {_ORDER_COLUMNS} from orders where order_id = $1{lock}", uuid.UUID(order_id))
    return None if record is None else OrderRow.of(record)


async def find_order_by_client_id(session: Session, account: str,
                                  client_order_id: str) -> OrderRow | None:
    record = await session.fetchrow(
        f"select {_ORDER_COLUMNS} from orders where account = $1 and client_order_id = $2",
        account, client_order_id)
    return None if record is None else OrderRow.of(record)


async def trades_of_order(session: Session, order_id: str) -> list[TradeRow]:
    """Every trade the order took part in, as aggressor or as resting order, oldest first."""
    ident = uuid.UUID(order_id)
    records = await session.fetch(
        f"select {_TRADE_COLUMNS} from trades where buy_order_id = $1 or sell_order_id = $1 "
        "order by trade_id", ident)
    return [TradeRow.of(r) for r in records]


async def open_orders(session: Session, symbols: list[str]) -> list[OrderRow]:
    """Open orders of `symbols` in seq order: the books' contents, time priority kept."""
    records = await session.fetch(
        f"select {_ORDER_COLUMNS} from orders where symbol = any($1::text[]) "
        "and status in ('new', 'partially_filled') order by seq", symbols)
    return [OrderRow.of(r) for r in records]


async def positions(session: Session, account: str) -> list[Position]:
    """Quantity bought and sold per symbol by `account`, from its trades."""
    records = await session.fetch(
        "select symbol, "
        "coalesce(sum(quantity) filter (where buy_account = $1), 0)::bigint as bought, "
        "coalesce(sum(quantity) filter (where sell_account = $1), 0)::bigint as sold "
        "from trades where buy_account = $1 or sell_account = $1 group by symbol order by symbol",
        account)
    return [Position(r["symbol"], r["bought"], r["sold"]) for r in records]
