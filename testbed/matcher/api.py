"""The matcher's internal HTTP API (called by the gateway).

    POST   /v1/orders                    {order_id, account, client_order_id, symbol, side,
                                          type, quantity, price_ticks} -> 201 ack
    DELETE /v1/orders/{order_id}?symbol=S -> 200 {order_id, seq, status: "cancelled", ...}
    GET    /v1/book/{symbol}?depth=N      -> best bid/ask and levels
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from testbed.errors import ApiError
from testbed.matcher.books import Books
from testbed.matcher.engine import NewOrder
from testbed.matcher.orderbook import OrderBook
from testbed.matcher.orders import Order
from testbed.service.jsonio import json_response, read_json, validate_body

__all__ = ["OrderIn", "book_response", "book_view", "new_order_of", "not_owner", "owned_symbol",
           "parse_depth", "parse_order_id"]

MAX_QUANTITY = 2**53


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: uuid.UUID
    account: str = Field(min_length=1, max_length=64)
    client_order_id: str | None = Field(None, min_length=1, max_length=64)
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["limit", "market"]
    quantity: StrictInt = Field(gt=0, lt=MAX_QUANTITY)
    price_ticks: StrictInt | None = Field(None, gt=0, lt=MAX_QUANTITY)


async def new_order_of(request: web.Request, books: Books) -> NewOrder:
    body = validate_body(OrderIn, await read_json(request))
    owned_symbol(body.symbol, books)
    if body.type == "limit" and body.price_ticks is None:
        raise ApiError(422, "a limit order needs price_ticks", field="price_ticks")
    if body.type == "market" and body.price_ticks is not None:
        raise ApiError(422, "a market order must not have a price", field="price_ticks",
                       value=body.price_ticks)
    order = Order(str(body.order_id), body.account, body.side, body.type, body.quantity,
                  body.price_ticks)
    return NewOrder(order, body.symbol, body.client_order_id)


def owned_symbol(symbol: str | None, books: Books) -> str:
    if not symbol:
        raise ApiError(400, "symbol is required", field="symbol")
    if symbol not in books:
        raise not_owner(symbol, books)
    return symbol


def not_owner(symbol: str, books: Books, why: str = "") -> ApiError:
    """421 Misdirected Request: nothing was committed, so the gateway retries the order with
    the owner its (possibly newer) shard map names."""
    return ApiError(421, f"this matcher does not own {symbol} under shard-map epoch "
                         f"{books.fence.epoch}{why}; it owns "
                         f"{', '.join(books.symbols) or 'no symbols'}",
                    field="symbol", value=symbol, retryable=True,
                    extra={"shard_epoch": books.fence.epoch})


def parse_order_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ApiError(400, "not a UUID", field="order_id", value=text) from None


def parse_depth(text: str | None) -> int:
    if text is None:
        return 10
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise ApiError(400, "depth must be an integer from 1 to 1000", field="depth", value=text)
    return int(text)


def book_view(book: OrderBook, depth: int) -> dict[str, Any]:
    def levels(side: Literal["buy", "sell"]) -> list[dict[str, int]]:
        return [{"price_ticks": lvl.price_ticks, "orders": lvl.orders, "quantity": lvl.quantity}
                for lvl in book.depth(side, depth)]
    return {"symbol": book.symbol, "bid_ticks": book.best_bid(), "ask_ticks": book.best_ask(),
            "bids": levels("buy"), "asks": levels("sell")}


def book_response(request: web.Request, books: Books) -> web.Response:
    symbol = owned_symbol(request.match_info["symbol"], books)
    return json_response(book_view(books[symbol], parse_depth(request.query.get("depth"))))
