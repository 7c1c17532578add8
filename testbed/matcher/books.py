"""The matcher's books, one per owned symbol, and rebuilding them from the ledger.

A symbol is "dirty" until its book has been loaded, and again whenever the book may have
drifted from the ledger (an in-doubt commit, a divergence, a new shard-map epoch); the next
request for it reloads the book first. Loading starts with a claim of the symbol in the ledger
under the matcher's epoch (ownership.py), so the book loaded holds every commit of the
previous owner, and that owner cannot commit on it any more. Callers hold the symbol's lock.

The set of owned symbols changes when the platform pushes a new shard map (`assign`): lost
symbols are dropped at once, gained ones are claimed and loaded before they are used.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from testbed.ledger.queries import OrderRow, open_orders
from testbed.matcher.orderbook import OrderBook
from testbed.matcher.orders import Resting
from testbed.matcher.ownership import Fence, NotOwner, claim
from testbed.service.db import Database
from testbed.service.retry import Retryable

__all__ = ["Books", "resting_of"]

log = logging.getLogger(__name__)


def resting_of(row: OrderRow) -> Resting:
    assert row.price_ticks is not None and row.side in ("buy", "sell")
    return Resting(row.order_id, row.account, row.side, row.price_ticks,  # type: ignore[arg-type]
                   row.quantity, row.quantity - row.filled, row.seq)


class Books:
    def __init__(self, symbols: list[str], db: Database, reloads: Counter,
                 fence: Fence | None = None) -> None:
        self.symbols = sorted(symbols)
        self.books = {symbol: OrderBook(symbol) for symbol in self.symbols}
        self.fence = fence or Fence(1, "matcher")
        self._claimed: dict[str, Fence] = {}     # symbol -> the fence its book was loaded under
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
        if symbol in self.books:
            self._dirty.add(symbol)

    def claimed(self, symbol: str) -> Fence:
        """The fence this symbol's book was loaded (and is committed) under."""
        return self._claimed.get(symbol, self.fence)

    def assign(self, symbols: list[str], fence: Fence) -> tuple[list[str], list[str]]:
        """Serve `symbols` under `fence` from now on: (gained, lost). Lost books are dropped at
        once; every kept or gained book is reloaded (claimed under the new epoch) before use."""
        old, new = set(self.symbols), set(symbols)
        for symbol in old - new:
            self.drop(symbol)
        self.fence = fence
        for symbol in sorted(new):
            self.books.setdefault(symbol, OrderBook(symbol))
            self._dirty.add(symbol)
        self.symbols = sorted(new)
        return sorted(new - old), sorted(old - new)

    def drop(self, symbol: str) -> None:
        """Stop serving `symbol` (lost to another matcher, or fenced by a newer epoch)."""
        self.books.pop(symbol, None)
        self._dirty.discard(symbol)
        self._claimed.pop(symbol, None)
        self.symbols = [s for s in self.symbols if s != symbol]

    async def ensure_fresh(self, symbol: str) -> OrderBook:
        """The symbol's book, reloaded from the ledger first if it may be stale; `NotOwner`
        when this matcher does not (or no longer) own it."""
        for _ in range(3):                 # a new shard map may land while we load
            if symbol not in self.books:
                raise NotOwner(symbol, self.fence.epoch, None, None)
            if symbol not in self._dirty:
                return self.books[symbol]
            await self.reload(symbol)
        raise Retryable(f"{symbol}: the shard map kept changing while the book loaded")

    async def reload(self, symbol: str) -> None:
        fence = self.fence
        async with self._db.session() as session:
            await claim(session, symbol, fence)
            rows = await open_orders(session, [symbol])
        if symbol not in self.books or self.fence != fence:
            return                     # reassigned meanwhile: stays dirty or is gone
        book = OrderBook(symbol)
        for row in rows:
            book.add_resting(resting_of(row))
        self.books[symbol] = book
        self._claimed[symbol] = fence
        self._dirty.discard(symbol)
        self._reloads.labels(symbol=symbol).inc()
        log.info("%s: book loaded from the ledger with %d open orders (epoch %d)", symbol,
                 len(rows), fence.epoch)
