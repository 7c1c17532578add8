"""Matching with the ledger as the source of truth.

Per symbol, under one asyncio.Lock: plan the match, commit the order, the fills and the
trades in one ledger transaction, and only then apply the plan to the book. Connection-class
failures are retried until the request's deadline; a retry that finds its own order already
committed (the earlier COMMIT went through before the connection died) answers with the
committed order and reloads the book.

Before that, an order takes its turn on the instance's single-threaded engine (capacity.py):
with a modelled per-order cost, one instance handles at most 1000 / cost_ms orders a second.
A symbol this matcher does not (or no longer) own raises `NotOwner` without committing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg

from testbed.errors import ApiError, LedgerUnavailable
from testbed.ledger.queries import find_order, find_order_by_client_id, trades_of_order
from testbed.matcher.acks import Ack, ack_from_ledger, ack_from_plan
from testbed.matcher.books import Books
from testbed.matcher.capacity import EngineModel
from testbed.matcher.metrics import MatcherMetrics
from testbed.matcher.orderbook import StalePlan
from testbed.matcher.orders import Order
from testbed.matcher.ownership import NotOwner
from testbed.matcher.store import BookDiverged, commit_order
from testbed.service.db import Database
from testbed.service.retry import retry_until

__all__ = ["Matcher", "NewOrder"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewOrder:
    order: Order
    symbol: str
    client_order_id: str | None


class Matcher:
    def __init__(self, books: Books, db: Database, metrics: MatcherMetrics, *,
                 deadline: float = 3.0, clock: Callable[[], float] = time.monotonic,
                 engine: EngineModel | None = None) -> None:
        self.books = books
        self.db = db
        self._metrics = metrics
        self._deadline = deadline
        self.clock = clock
        self.engine = engine or EngineModel(0.0)
        self._locks: dict[str, asyncio.Lock] = {}

    async def load_all(self) -> None:
        """Reload every book that is stale (all of them, at first); a symbol that a newer
        epoch has claimed is dropped."""
        for symbol in self.books.stale():
            async with self.locked(symbol):
                try:
                    await self.books.ensure_fresh(symbol)
                except NotOwner as exc:
                    log.warning("dropping %s: %s", symbol, exc)
                    self.books.drop(symbol)

    @contextlib.asynccontextmanager
    async def locked(self, symbol: str) -> AsyncIterator[None]:
        """Hold the symbol's lock; waiting requests show in matcher_queue_depth."""
        lock = self._locks.setdefault(symbol, asyncio.Lock())
        waiting = self._metrics.queue_depth.labels(symbol=symbol)
        waiting.inc()
        try:
            await lock.acquire()
        finally:
            waiting.dec()
        try:
            yield
        finally:
            lock.release()

    @contextlib.asynccontextmanager
    async def serialized(self, symbol: str) -> AsyncIterator[float]:
        """The symbol's lock and the request's retry deadline, all bounded by the deadline
        (plus a second for the attempt in flight); overrunning marks the book stale."""
        deadline = self.clock() + self._deadline
        try:
            async with asyncio.timeout(self._deadline + 1.0), self.locked(symbol):
                yield deadline
        except (LedgerUnavailable, TimeoutError) as exc:
            self.books.mark_dirty(symbol)  # an attempt may have committed before it failed
            raise LedgerUnavailable(str(exc) or "the ledger did not answer in time") from exc

    async def submit(self, new: NewOrder) -> Ack:
        await self.engine.process()
        async with self.serialized(new.symbol) as deadline:
            return await retry_until(lambda: self._try_submit(new), deadline=deadline,
                                     on_retry=self._count_retry, clock=self.clock)

    async def _try_submit(self, new: NewOrder) -> Ack:
        book = await self.books.ensure_fresh(new.symbol)
        plan = book.plan(new.order)
        started = time.perf_counter()
        try:
            committed = await commit_order(self.db, new.symbol, new.client_order_id, plan,
                                           self.books.claimed(new.symbol))
        except asyncpg.UniqueViolationError:
            return await self._already_committed(new)
        except BookDiverged:
            self.books.mark_dirty(new.symbol)  # the next attempt plans on a reloaded book
            raise
        self._metrics.commit_seconds.observe(time.perf_counter() - started)
        try:
            book.apply(plan, committed.seq)
        except (StalePlan, ValueError):
            log.exception("%s: committed plan does not apply; reloading the book", new.symbol)
            self.books.mark_dirty(new.symbol)
        return ack_from_plan(new.symbol, plan, committed.seq, committed.trade_ids)

    async def _already_committed(self, new: NewOrder) -> Ack:
        """A unique violation: our own earlier commit, or a reused client_order_id."""
        async with self.db.session() as session:
            row = await find_order(session, new.order.order_id)
            trades = await trades_of_order(session, new.order.order_id) if row else []
            other = None
            if row is None and new.client_order_id is not None:
                other = await find_order_by_client_id(session, new.order.account,
                                                      new.client_order_id)
        if row is not None:
            self.books.mark_dirty(new.symbol)
            with contextlib.suppress(NotOwner):     # committed all the same: acknowledge it
                await self.books.ensure_fresh(new.symbol)
            return ack_from_ledger(row, trades)
        if other is not None:
            raise ApiError(409, f"client_order_id is already used by order {other.order_id}",
                           field="client_order_id", value=new.client_order_id,
                           extra={"order_id": other.order_id})
        raise ApiError(409, "the order conflicts with the ledger", field="order_id",
                       value=new.order.order_id)

    def _count_retry(self, _: BaseException) -> None:
        self._metrics.ledger_retries.inc()
