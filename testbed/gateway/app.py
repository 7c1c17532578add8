"""Wiring of the gateway: ledger pool, peers, order routes, quotes and positions, and the
shard map in force (`GET|PUT /admin/shardmap`, behind the admin token).

    PUT /admin/shardmap {"epoch": E, "shards": N, "matchers": [N URLs]} -> 200 the map in force;
    409 for an epoch older than the one in force; 400 naming the field for a bad body.
"""

from __future__ import annotations

from aiohttp import web

from testbed.errors import ApiError
from testbed.gateway.journal import AckJournal
from testbed.gateway.ledger import LedgerReader
from testbed.gateway.metrics import GatewayMetrics
from testbed.gateway.orders import OrderRoutes
from testbed.gateway.prices import LastPrices
from testbed.gateway.replies import or_unavailable, unavailable
from testbed.gateway.upstream import GatewayShardMap, Marketdata, Matchers
from testbed.gateway.views import positions_view
from testbed.service.admin import guarded
from testbed.service.app import ServiceContext, new_app
from testbed.service.client import Reply, TracedClient
from testbed.service.db import Database
from testbed.service.jsonio import json_response, read_json, validate_body

__all__ = ["GatewayService", "build"]


def build(ctx: ServiceContext) -> web.Application:
    app = new_app(ctx)
    GatewayService(ctx).install(app)
    return app


class GatewayService:
    def __init__(self, ctx: ServiceContext) -> None:
        config = ctx.config
        assert config.ledger_dsn is not None and config.marketdata is not None
        self._trading = ctx.trading
        self.metrics = GatewayMetrics(ctx.registry)
        self.db = Database(config.ledger_dsn, ctx.registry, ctx.tracer,
                           application_name=config.instance)
        self.ledger = LedgerReader(self.db)
        # A pool per matcher (bulkheads): a saturated shard must not take the connections
        # the other shards' orders need.
        self._clients = [TracedClient("matcher", ctx.tracer, limit=0, limit_per_host=100),
                         TracedClient("marketdata", ctx.tracer)]
        self._token = config.admin_token
        self.matchers = matchers = Matchers(
            self._clients[0], config.matchers, timeout=config.ledger_deadline_seconds + 2.0,
            epoch=config.shard_epoch, redirects=self.metrics.matcher_redirects)
        self.marketdata = Marketdata(self._clients[1], config.marketdata)
        prices = LastPrices(ctx.trading, self.marketdata.quote_body, self.metrics.price_fallbacks)
        self.journal = AckJournal()
        self.orders = OrderRoutes(ctx.trading, matchers, prices, self.ledger, self.metrics,
                                  self.journal)
        ctx.readiness.add(self.db.ready_reason)

    def install(self, app: web.Application) -> None:
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)
        self.orders.install(app)
        app.router.add_get("/v1/quotes/{symbol}", self.get_quote)
        app.router.add_get("/v1/quotes", self.get_quotes)
        app.router.add_get("/v1/positions/{account}", self.get_positions)
        app.router.add_get("/admin/shardmap", guarded(self.get_shardmap, self._token))
        app.router.add_get("/admin/acks", guarded(self.get_acks, self._token))
        app.router.add_put("/admin/shardmap", guarded(self.put_shardmap, self._token))

    async def _startup(self, _: web.Application) -> None:
        await self.db.start()

    async def _cleanup(self, _: web.Application) -> None:
        for client in self._clients:
            await client.close()
        await self.db.close()

    async def get_shardmap(self, _: web.Request) -> web.Response:
        return json_response(self.matchers.map.model_dump())

    async def put_shardmap(self, request: web.Request) -> web.Response:
        new = validate_body(GatewayShardMap, await read_json(request), status=400)
        current = self.matchers.map
        if new.epoch < current.epoch or (new.epoch == current.epoch and new != current):
            raise ApiError(409, f"shard map epoch {new.epoch} is not newer than the one in "
                                f"force ({current.epoch})", field="epoch", value=new.epoch,
                           extra={"shard_epoch": current.epoch})
        self.matchers.switch(new)
        return json_response(self.matchers.map.model_dump())

    async def get_acks(self, request: web.Request) -> web.Response:
        """The orders this gateway acknowledged since `?since=<epoch seconds>` (admin)."""
        raw = request.query.get("since", "0")
        try:
            since = float(raw)
        except ValueError:
            raise ApiError(400, "since must be epoch seconds", field="since", value=raw) from None
        return json_response(self.journal.since(since))

    async def get_quote(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        if symbol not in self._trading.symbols:
            raise ApiError(404, f"unknown symbol; valid symbols: "
                                f"{', '.join(sorted(self._trading.symbols))}",
                           field="symbol", value=symbol)
        return _proxied(await or_unavailable(self.marketdata.quote(symbol)))

    async def get_quotes(self, _: web.Request) -> web.Response:
        return _proxied(await or_unavailable(self.marketdata.quotes()))

    async def get_positions(self, request: web.Request) -> web.Response:
        account = request.match_info["account"]
        if not self._trading.risk.account_ok(account):
            raise ApiError(400, f"account must match {self._trading.risk.account_pattern}",
                           field="account", value=account)
        positions = await or_unavailable(self.ledger.positions(account))
        return json_response(positions_view(account, positions))


def _proxied(reply: Reply) -> web.Response:
    if reply.status >= 500 or not isinstance(reply.body, dict):
        raise unavailable(f"marketdata answered HTTP {reply.status}")
    return json_response(reply.body, status=reply.status)
