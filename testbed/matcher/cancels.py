"""Cancelling a resting order: in the ledger first (cancel_seq = nextval), then in the book.

A retry that finds the order already cancelled, after an attempt that failed with a
connection error, takes that cancel as its own (the earlier COMMIT went through).
"""

from __future__ import annotations

from testbed.errors import ApiError
from testbed.matcher.acks import CancelAck
from testbed.matcher.engine import Matcher
from testbed.matcher.metrics import MatcherMetrics
from testbed.matcher.store import CancelOutcome, cancel_order
from testbed.service.retry import retry_until

__all__ = ["Canceller"]


class Canceller:
    def __init__(self, matcher: Matcher, metrics: MatcherMetrics) -> None:
        self._matcher = matcher
        self._metrics = metrics

    async def cancel(self, order_id: str, symbol: str) -> CancelAck:
        retried = False

        def on_retry(_: BaseException) -> None:
            nonlocal retried
            retried = True
            self._metrics.ledger_retries.inc()

        async def attempt() -> CancelAck:
            books = self._matcher.books
            await books.ensure_fresh(symbol)
            outcome = await cancel_order(self._matcher.db, order_id, symbol,
                                         books.claimed(symbol))
            return self._conclude(order_id, symbol, outcome, retried)

        await self._matcher.engine.process()
        async with self._matcher.serialized(symbol) as deadline:
            return await retry_until(attempt, deadline=deadline, on_retry=on_retry,
                                     clock=self._matcher.clock)

    def _conclude(self, order_id: str, symbol: str, outcome: CancelOutcome,
                  retried: bool) -> CancelAck:
        row = outcome.row
        if row is None or row.symbol != symbol:
            raise ApiError(404, f"no {symbol} order with this id", field="order_id",
                           value=order_id)
        if outcome.cancel_seq is not None:
            cancel_seq = outcome.cancel_seq
        elif retried and row.status == "cancelled" and row.cancel_seq is not None:
            cancel_seq = row.cancel_seq  # our earlier attempt committed
        else:
            raise ApiError(409, f"the order is already {row.status}", field="order_id",
                           value=order_id, extra={"status": row.status})
        books = self._matcher.books
        book = books.books.get(symbol)
        if book is not None and book.cancel(order_id) is None and outcome.cancel_seq is not None:
            books.mark_dirty(symbol)  # the ledger had it open but the book did not
        return CancelAck(order_id, symbol, cancel_seq, "cancelled", row.filled,
                         row.quantity - row.filled)
