"""Wiring of the matcher service: ledger pool, books, matching, quotes to marketdata."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from testbed.common.app import ServiceContext, new_app
from testbed.common.client import TracedClient
from testbed.common.db import Database
from testbed.common.jsonio import json_response
from testbed.errors import ApiError, LedgerUnavailable
from testbed.matcher.api import book_response, new_order_of, owned_symbol, parse_order_id
from testbed.matcher.books import Books
from testbed.matcher.cancels import Canceller
from testbed.matcher.engine import Matcher
from testbed.matcher.metrics import MatcherMetrics
from testbed.matcher.publisher import Publisher, quote_update
from testbed.sharding import symbols_of_shard

__all__ = ["MatcherService", "build"]

log = logging.getLogger(__name__)


def build(ctx: ServiceContext) -> web.Application:
    app = new_app(ctx)
    MatcherService(ctx).install(app)
    return app


class MatcherService:
    def __init__(self, ctx: ServiceContext) -> None:
        config = ctx.config
        assert config.ledger_dsn is not None and config.marketdata is not None
        self._ctx = ctx
        symbols = symbols_of_shard(ctx.trading.symbols, config.shard, config.shards)
        self.db = Database(config.ledger_dsn, ctx.registry, ctx.tracer,
                           application_name=config.instance)
        self.metrics = MatcherMetrics(ctx.registry, symbols, lambda: self.books.books)
        self.books = Books(symbols, self.db, self.metrics.book_reloads)
        self.matcher = Matcher(self.books, self.db, self.metrics,
                               deadline=config.ledger_deadline_seconds)
        self.canceller = Canceller(self.matcher, self.metrics)
        self.client = TracedClient("marketdata", ctx.tracer, timeout=1.0)
        self.publisher = Publisher(self.client, config.marketdata,
                                   self.metrics.marketdata_dropped)
        self._loader: asyncio.Task[None] | None = None
        ctx.readiness.add(self.db.ready_reason)
        ctx.readiness.add(
            lambda: None if self.books.loaded() else "books not loaded from the ledger yet")

    def install(self, app: web.Application) -> None:
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)
        app.router.add_post("/v1/orders", self.post_order)
        app.router.add_delete("/v1/orders/{order_id}", self.delete_order)
        app.router.add_get("/v1/book/{symbol}", self.get_book)

    async def _startup(self, _: web.Application) -> None:
        self.publisher.start(lambda: [self.books.books[s] for s in self.books.symbols
                                      if s not in self.books.stale()])
        await self.db.start()
        self._loader = asyncio.create_task(_keep_books_fresh(self.matcher), name="books")

    async def _cleanup(self, _: web.Application) -> None:
        if self._loader is not None:
            self._loader.cancel()
            await asyncio.gather(self._loader, return_exceptions=True)
        await self.publisher.stop()
        await self.client.close()
        await self.db.close()

    async def post_order(self, request: web.Request) -> web.Response:
        try:
            ack = await self.matcher.submit(await new_order_of(request, self.books))
        except LedgerUnavailable as exc:
            self.metrics.orders.labels(result="unavailable").inc()
            raise ApiError(503, str(exc), retryable=True) from exc
        except ApiError:
            self.metrics.orders.labels(result="rejected").inc()
            raise
        except Exception:
            self.metrics.orders.labels(result="error").inc()
            raise
        self.metrics.orders.labels(result="accepted").inc()
        self.metrics.trades.labels(symbol=ack.symbol).inc(len(ack.fills))
        last = (ack.fills[-1].price_ticks, ack.fills[-1].quantity) if ack.fills else None
        self._publish(ack.symbol, ack.seq, last)
        return json_response(ack.to_json(), status=201)

    async def delete_order(self, request: web.Request) -> web.Response:
        order_id = parse_order_id(request.match_info["order_id"])
        symbol = owned_symbol(request.query.get("symbol"), self.books)
        try:
            ack = await self.canceller.cancel(order_id, symbol)
        except LedgerUnavailable as exc:
            self.metrics.cancels.labels(result="unavailable").inc()
            raise ApiError(503, str(exc), retryable=True) from exc
        except ApiError:
            self.metrics.cancels.labels(result="rejected").inc()
            raise
        except Exception:
            self.metrics.cancels.labels(result="error").inc()
            raise
        self.metrics.cancels.labels(result="cancelled").inc()
        self._publish(symbol, ack.seq, None)
        return json_response(ack.to_json())

    async def get_book(self, request: web.Request) -> web.Response:
        return book_response(request, self.books)

    def _publish(self, symbol: str, seq: int, last: tuple[int, int] | None) -> None:
        self.publisher.publish(quote_update(self.books[symbol], seq, last))


async def _keep_books_fresh(matcher: Matcher, interval: float = 0.5) -> None:
    """Load every book at startup, then reload any book marked stale, until cancelled."""
    last_problem = ""
    while True:
        try:
            await matcher.load_all()
            last_problem = ""
        except Exception as exc:  # noqa: BLE001 - keep trying until the ledger answers
            problem = f"{type(exc).__name__}: {exc}"
            if problem != last_problem:
                log.info("books not loaded: %s", problem)
            last_problem = problem
        await asyncio.sleep(interval)
