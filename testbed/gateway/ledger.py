"""The gateway's reads of the ledger, retried through a failover until a short deadline."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from testbed.ledger.queries import (
    OrderRow,
    Position,
    TradeRow,
    find_order,
    positions,
    trades_of_order,
)
from testbed.service.db import Database
from testbed.service.dbsession import Session
from testbed.service.retry import retry_until

__all__ = ["LedgerReader"]

T = TypeVar("T")


class LedgerReader:
    def __init__(self, db: Database, deadline: float = 2.0) -> None:
        self._db = db
        self._deadline = deadline

    async def order(self, order_id: str) -> tuple[OrderRow, list[TradeRow]] | None:
        async def read(session: Session) -> tuple[OrderRow, list[TradeRow]] | None:
            row = await find_order(session, order_id)
            return None if row is None else (row, await trades_of_order(session, order_id))
        return await self._read(read)

    async def order_row(self, order_id: str) -> OrderRow | None:
        return await self._read(lambda session: find_order(session, order_id))

    async def positions(self, account: str) -> list[Position]:
        return await self._read(lambda session: positions(session, account))

    async def _read(self, query: Callable[[Session], Awaitable[T]]) -> T:
        async def attempt() -> T:
            async with self._db.session() as session:
                return await query(session)
        return await retry_until(attempt, deadline=time.monotonic() + self._deadline)
