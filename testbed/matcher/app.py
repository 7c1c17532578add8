"""Wiring of the matcher service: ledger pool, books, matching, quotes to marketdata, and the
shard map in force (`PUT /admin/shardmap` from the platform, behind the admin token)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from testbed.errors import ApiError, LedgerUnavailable
from testbed.matcher.api import (
    book_response,
    new_order_of,
    not_owner,
    owned_symbol,
    parse_order_id,
)
from testbed.matcher.books import Books
from testbed.matcher.cancels import Canceller
from testbed.matcher.capacity import EngineMetrics, EngineModel
from testbed.matcher.engine import Matcher
from testbed.matcher.metrics import MatcherMetrics
from testbed.matcher.ownership import Fence, NotOwner
from testbed.matcher.publisher import Publisher, quote_update
from testbed.matcher.shardmap import ShardMapRoutes
from testbed.service.admin import guarded
from testbed.service.app import ServiceContext, new_app
from testbed.service.client import TracedClient
from testbed.service.db import Database
from testbed.service.jsonio import json_response
from testbed.sharding import ShardMap

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
        shard_map = ShardMap(epoch=config.shard_epoch, shards=config.shards)
        symbols = shard_map.symbols_of(config.shard, ctx.trading.symbols)
        self.db = Database(config.ledger_dsn, ctx.registry, ctx.tracer,
                           application_name=config.instance)
        self.metrics = MatcherMetrics(ctx.registry, symbols, lambda: self.books.books)
        self.books = Books(symbols, self.db, self.metrics.book_reloads,
                           Fence(config.shard_epoch, config.instance))
        cost_s = config.engine_cost_ms / 1000.0
        engine = EngineModel(cost_s, EngineMetrics(ctx.registry, cost_s))
        self.matcher = Matcher(self.books, self.db, self.metrics,
                               deadline=config.ledger_deadline_seconds, engine=engine)
        self.shardmap = ShardMapRoutes(shard_map, config.shard, config.instance, ctx.trading,
                                       self.matcher, ctx.registry)
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
        token = self._ctx.config.admin_token
        app.router.add_get("/admin/shardmap", guarded(self.shardmap.get, token))
        app.router.add_put("/admin/shardmap", guarded(self.shardmap.put, token))

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
        with self.shardmap.in_flight():
            return await self._post_order(request)

    async def _post_order(self, request: web.Request) -> web.Response:
        try:
            ack = await self.matcher.submit(await new_order_of(request, self.books))
        except NotOwner as exc:
            self.metrics.orders.labels(result="misdirected").inc()
            raise self._fenced(exc) from exc
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
        with self.shardmap.in_flight():
            return await self._delete_order(request)

    async def _delete_order(self, request: web.Request) -> web.Response:
        order_id = parse_order_id(request.match_info["order_id"])
        symbol = owned_symbol(request.query.get("symbol"), self.books)
        try:
            ack = await self.canceller.cancel(order_id, symbol)
        except NotOwner as exc:
            self.metrics.cancels.labels(result="misdirected").inc()
            raise self._fenced(exc) from exc
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

    def _fenced(self, exc: NotOwner) -> ApiError:
        """A newer epoch claimed the symbol (or we never owned it): stop serving it; nothing
        was committed, so the gateway may retry with the new owner."""
        if exc.holder is not None and exc.holder != self._ctx.config.instance:
            log.warning("dropping %s: %s", exc.symbol, exc)
            self.books.drop(exc.symbol)
        why = f" ({exc.holder} holds it under epoch {exc.holder_epoch})" if exc.holder else ""
        return not_owner(exc.symbol, self.books, why)

    def _publish(self, symbol: str, seq: int, last: tuple[int, int] | None) -> None:
        if symbol in self.books:
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
