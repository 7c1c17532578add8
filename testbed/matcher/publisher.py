"""Fire-and-forget quote updates to marketdata: a bounded queue and one sender task.

`publish` never blocks and never raises; updates that do not fit in the queue, or that
marketdata does not take, are dropped and counted. Each update is sent in the trace of the
order that caused it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context
from prometheus_client import Counter

from testbed.matcher.orderbook import OrderBook
from testbed.service.client import TracedClient, Unreachable

__all__ = ["Publisher", "quote_update"]

log = logging.getLogger(__name__)


def quote_update(book: OrderBook, seq: int, last: tuple[int, int] | None) -> dict[str, Any]:
    """The update for marketdata after ack `seq`; `last` is the last trade's (price, qty)."""
    bids, asks = book.depth("buy", 1), book.depth("sell", 1)
    return {"symbol": book.symbol, "seq": seq, "ts": time.time(),
            "last_price_ticks": last[0] if last else None,
            "last_quantity": last[1] if last else None,
            "bid_ticks": bids[0].price_ticks if bids else None,
            "bid_size": bids[0].quantity if bids else None,
            "ask_ticks": asks[0].price_ticks if asks else None,
            "ask_size": asks[0].quantity if asks else None}


class Publisher:
    def __init__(self, client: TracedClient, base_url: str, dropped: Counter,
                 maxsize: int = 1000, timeout: float = 1.0) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/v1/updates"
        self._dropped = dropped
        self._timeout = timeout
        self._queue: asyncio.Queue[tuple[dict[str, Any], context.Context]] = \
            asyncio.Queue(maxsize)
        self._task: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None

    def start(self, books: Callable[[], list[OrderBook]] | None = None,
              heartbeat_s: float = 1.0) -> None:
        self._task = asyncio.create_task(self._run(), name="marketdata-publisher")
        if books is not None:
            self._beat = asyncio.create_task(self._heartbeat(books, heartbeat_s),
                                             name="marketdata-heartbeat")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, self._beat) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _heartbeat(self, books: Callable[[], list[OrderBook]], every: float) -> None:
        """Top of book for every symbol each second, trades or not, as a market data feed's
        heartbeat: a quiet symbol is not a stale one. Untraced (housekeeping)."""
        url = self._url.replace("/v1/updates", "/internal/heartbeat")
        while True:
            await asyncio.sleep(every)
            for book in books():
                try:
                    await self._client.send_untraced("POST", url, quote_update(book, None, None),
                                                     self._timeout)
                except Unreachable:
                    self._dropped.labels(reason="unreachable").inc()

    def publish(self, update: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait((update, context.get_current()))
        except asyncio.QueueFull:
            self._dropped.labels(reason="queue_full").inc()

    async def _run(self) -> None:
        while True:
            update, ctx = await self._queue.get()
            token = context.attach(ctx)
            try:
                await self._send(update)
            finally:
                with contextlib.suppress(Exception):
                    context.detach(token)

    async def _send(self, update: dict[str, Any]) -> None:
        try:
            reply = await self._client.request("POST", self._url, route="/v1/updates",
                                               body=update, seconds=self._timeout)
        except Unreachable:
            self._dropped.labels(reason="unreachable").inc()
            return
        except Exception:
            log.warning("could not send a quote update", exc_info=True)
            self._dropped.labels(reason="error").inc()
            return
        if reply.status >= 300:
            self._dropped.labels(reason="rejected").inc()
