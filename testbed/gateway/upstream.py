"""The gateway's peers: the matcher shards (routed by symbol) and marketdata."""

from __future__ import annotations

from typing import Any

from testbed.common.client import Reply, TracedClient
from testbed.gateway.validation import OrderRequest
from testbed.sharding import shard_of

__all__ = ["Marketdata", "Matchers", "matcher_body"]


def matcher_body(order_id: str, order: OrderRequest) -> dict[str, Any]:
    return {"order_id": order_id, "account": order.account,
            "client_order_id": order.client_order_id, "symbol": order.symbol,
            "side": order.side, "type": order.type, "quantity": order.quantity,
            "price_ticks": order.price_ticks}


class Matchers:
    def __init__(self, client: TracedClient, urls: list[str], timeout: float) -> None:
        self._client = client
        self._urls = [url.rstrip("/") for url in urls]
        self._timeout = timeout

    def url_for(self, symbol: str) -> str:
        return self._urls[shard_of(symbol, len(self._urls))]

    async def place(self, order_id: str, order: OrderRequest) -> Reply:
        return await self._client.request(
            "POST", f"{self.url_for(order.symbol)}/v1/orders", route="/v1/orders",
            body=matcher_body(order_id, order), seconds=self._timeout)

    async def cancel(self, order_id: str, symbol: str) -> Reply:
        return await self._client.request(
            "DELETE", f"{self.url_for(symbol)}/v1/orders/{order_id}",
            route="/v1/orders/{order_id}", params={"symbol": symbol}, seconds=self._timeout)


class Marketdata:
    def __init__(self, client: TracedClient, url: str, timeout: float = 0.5) -> None:
        self._client = client
        self._url = url.rstrip("/")
        self._timeout = timeout

    async def quote(self, symbol: str) -> Reply:
        return await self._client.request("GET", f"{self._url}/v1/quotes/{symbol}",
                                          route="/v1/quotes/{symbol}", seconds=self._timeout)

    async def quotes(self) -> Reply:
        return await self._client.request("GET", f"{self._url}/v1/quotes", route="/v1/quotes",
                                          seconds=self._timeout)

    async def quote_body(self, symbol: str) -> object:
        """The quote's JSON when marketdata answers 200, else None (for the price band)."""
        reply = await self.quote(symbol)
        return reply.body if reply.status == 200 else None
