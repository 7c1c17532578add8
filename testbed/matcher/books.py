"""The matcher's books, one per owned symbol, and rebuilding them from the ledger.

A symbol is "dirty" until its book has been loaded, and again whenever the book may have
drifted from the ledger (an in-doubt commit, a divergence); the next request for it reloads
the book first. Callers hold the symbol's lock.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from testbed.common.db import Database
from testbed.ledger.queries import OrderRow, open_orders
from testbed.matcher.orderbook import OrderBook
from testbed.matcher.orders import Resting

__all__ = ["Books", "resting_of"]

log = logging.getLogger(__name__)


def resting_of(row: OrderRow) -> Resting:
    assert row.price_ticks is not None and row.side in ("buy", "sell")
    return Resting(row.order_id, row.account, row.side, row.price_ticks,  # type: ignore[arg-type]
                   row.quantity, row.quantity - row.filled, row.seq)


class Books:
    def __init__(self, symbols: list[str], db: Database, reloads: Counter) -> None:
        self.symbols = sorted(symbols)
        self.books = {symbol: OrderBook(symbol) for symbol in self.symbols}
        self._dirty = set(self.symbols)
        self._db = db
        self._reloads = reloads

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.books

    def __getitem__(self, symbol: str) -> OrderBook:
        return self.books[symbol]

    def loaded(self) -> bool:
        """Every book has been loaded from the ledger at least once and is not stale."""
        return not self._dirty

    def stale(self) -> list[str]:
        return sorted(self._dirty)

    def mark_dirty(self, symbol: str) -> None:
        self._dirty.add(symbol)

    async def ensure_fresh(self, symbol: str) -> OrderBook:
        """The symbol's book, reloaded from the ledger first if it may be stale."""
        if symbol in self._dirty:
            await self.reload(symbol)
        return self.books[symbol]

    async def reload(self, symbol: str) -> None:
        async with self._db.session() as session:
            rows = await open_orders(session, [symbol])
        book = OrderBook(symbol)
        for row in rows:
            book.add_resting(resting_of(row))
        self.books[symbol] = book
        self._dirty.discard(symbol)
        self._reloads.labels(symbol=symbol).inc()
        log.info("%s: book loaded from the ledger with %d open orders", symbol, len(rows))
