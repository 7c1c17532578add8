"""marketdata's HTTP API: POST /v1/updates (from matchers), GET /v1/quotes[/{symbol}].

Under an injected `freeze_updates` fault, updates are validated and accepted (202) but not
applied, so quotes go stale as in a market-data stall.
"""

from __future__ import annotations

from aiohttp import web

from testbed.errors import ApiError
from testbed.marketdata.metrics import MarketdataMetrics
from testbed.marketdata.quotes import QuoteStore, QuoteUpdate
from testbed.service.app import ServiceContext, new_app
from testbed.service.faults import FREEZE_UPDATES
from testbed.service.jsonio import json_response, read_json, validate_body

__all__ = ["build"]


def build(ctx: ServiceContext) -> web.Application:
    store = QuoteStore(ctx.trading)
    metrics = MarketdataMetrics(ctx.registry, store)
    ctx.faults.support(FREEZE_UPDATES)
    app = new_app(ctx)

    def known(symbol: str) -> str:
        if symbol not in ctx.trading.symbols:
            raise ApiError(404, f"unknown symbol; valid symbols: {', '.join(store.symbols())}",
                           field="symbol", value=symbol)
        return symbol

    async def post_update(request: web.Request) -> web.Response:
        update = validate_body(QuoteUpdate, await read_json(request))
        if update.symbol not in ctx.trading.symbols:
            raise ApiError(422, f"unknown symbol; valid symbols: {', '.join(store.symbols())}",
                           field="symbol", value=update.symbol)
        if ctx.faults.holds_updates():
            return json_response({"applied": False, "frozen": True}, status=202)
        applied = store.apply(update)
        if applied:
            metrics.updates.labels(symbol=update.symbol).inc()
        return json_response({"applied": applied}, status=202)

    async def get_quote(request: web.Request) -> web.Response:
        return json_response(store.quote(known(request.match_info["symbol"])))

    async def get_quotes(_: web.Request) -> web.Response:
        return json_response({"quotes": [store.quote(s) for s in store.symbols()]})

    app.router.add_post("/v1/updates", post_update)
    app.router.add_post("/internal/heartbeat", post_update)   # the matchers' top of book
    app.router.add_get("/v1/quotes/{symbol}", get_quote)
    app.router.add_get("/v1/quotes", get_quotes)
    return app
