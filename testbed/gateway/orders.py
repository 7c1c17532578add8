"""The gateway's order routes: place (validate, risk-check, route to the shard), cancel, get.

Only what the matcher reports committed is acknowledged; a matcher that is down, slow or
failing over gives a 503 the client may retry.
"""

from __future__ import annotations

import time
import uuid

from aiohttp import web

from testbed.errors import ApiError
from testbed.gateway.journal import AckJournal
from testbed.gateway.ledger import LedgerReader
from testbed.gateway.metrics import GatewayMetrics
from testbed.gateway.prices import LastPrices
from testbed.gateway.replies import message_of, or_unavailable, parse_order_id, unavailable
from testbed.gateway.risk import check_order
from testbed.gateway.upstream import Matchers
from testbed.gateway.validation import parse_order
from testbed.gateway.views import ack_view, order_view
from testbed.service.client import Reply
from testbed.service.jsonio import json_response, read_json
from testbed.service.middleware import current_trace_id
from testbed.trading import Trading

__all__ = ["OrderRoutes"]


class OrderRoutes:
    def __init__(self, trading: Trading, matchers: Matchers, prices: LastPrices,
                 ledger: LedgerReader, metrics: GatewayMetrics,
                 journal: AckJournal | None = None) -> None:
        self._journal = journal
        self._trading = trading
        self._matchers = matchers
        self._prices = prices
        self._ledger = ledger
        self._metrics = metrics

    def install(self, app: web.Application) -> None:
        app.router.add_post("/v1/orders", self.place)
        app.router.add_delete("/v1/orders/{order_id}", self.cancel)
        app.router.add_get("/v1/orders/{order_id}", self.get)

    async def place(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            order = parse_order(await read_json(request), self._trading)
            check_order(order, self._trading.risk, await self._prices.get(order.symbol))
        except ApiError as exc:
            self._metrics.rejected(exc.rule or "validation")
            raise
        try:
            reply = await or_unavailable(self._matchers.place(str(uuid.uuid4()), order))
            if reply.status == 201 and isinstance(reply.body, dict):
                view = ack_view(reply.body, order, self._trading.symbols[order.symbol],
                                current_trace_id() or "")
                self._metrics.orders.labels(result="accepted").inc()
                self._metrics.ack_seconds.observe(time.perf_counter() - started)
                if self._journal is not None:
                    self._journal.record(view["order_id"], view["seq"])
                return json_response(view, status=201)
            response = _passed_on(reply)
        except Exception:
            self._metrics.orders.labels(result="error").inc()
            raise
        self._metrics.rejected("matcher")
        return response

    async def cancel(self, request: web.Request) -> web.Response:
        order_id = parse_order_id(request.match_info["order_id"])
        row = await or_unavailable(self._ledger.order_row(order_id))
        if row is None:
            raise ApiError(404, "no order with this id", field="order_id", value=order_id)
        reply = await or_unavailable(self._matchers.cancel(order_id, row.symbol))
        if reply.status == 200 and isinstance(reply.body, dict):
            return json_response({**reply.body, "trace_id": current_trace_id()})
        return _passed_on(reply)

    async def get(self, request: web.Request) -> web.Response:
        order_id = parse_order_id(request.match_info["order_id"])
        found = await or_unavailable(self._ledger.order(order_id))
        if found is None:
            raise ApiError(404, "no order with this id", field="order_id", value=order_id)
        row, trades = found
        return json_response(order_view(row, trades, self._trading.instrument(row.symbol)))


def _passed_on(reply: Reply) -> web.Response:
    """A matcher's refusal (4xx) is passed on as it is; anything else is a retryable 503 (a
    421 still misdirected after the redirect window too: a resharding that did not settle)."""
    if 400 <= reply.status < 500 and reply.status != 421 and isinstance(reply.body, dict):
        return json_response(reply.body, status=reply.status)
    raise unavailable(message_of(reply))
