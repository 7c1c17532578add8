"""The gateway's peers: the matcher shards (routed by symbol through the shard map in force)
and marketdata.

The shard map can change while the gateway runs (`PUT /admin/shardmap`, from the platform).
A matcher that does not own the symbol (it lost it, or a newer epoch fenced it) answers 421
with `retryable: true` and commits nothing, so the order is sent again, same order id, to the
owner the current map names, for up to `redirect_window_s`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import Counter
from pydantic import Field, model_validator

from testbed.gateway.validation import OrderRequest
from testbed.service.client import Reply, TracedClient
from testbed.sharding import ShardMap

__all__ = ["GatewayShardMap", "Marketdata", "Matchers", "matcher_body"]


def matcher_body(order_id: str, order: OrderRequest) -> dict[str, Any]:
    return {"order_id": order_id, "account": order.account,
            "client_order_id": order.client_order_id, "symbol": order.symbol,
            "side": order.side, "type": order.type, "quantity": order.quantity,
            "price_ticks": order.price_ticks}


class GatewayShardMap(ShardMap):
    """A shard map with the URL this gateway uses for each shard (index = shard)."""

    matchers: list[str] = Field(min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _one_url_per_shard(self) -> GatewayShardMap:
        if len(self.matchers) != self.shards:
            raise ValueError(f"matchers must list one URL per shard ({self.shards}), "
                             f"got {len(self.matchers)}")
        for url in self.matchers:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"matcher URL {url!r} must start with http:// or https://")
        return self


def _misdirected(reply: Reply) -> bool:
    return (reply.status == 421 and isinstance(reply.body, dict)
            and reply.body.get("retryable") is True)


class Matchers:
    def __init__(self, client: TracedClient, urls: list[str], timeout: float, *,
                 epoch: int = 1, redirects: Counter | None = None,
                 redirect_window_s: float = 3.0, redirect_pause_s: float = 0.02) -> None:
        self._client = client
        self.map = GatewayShardMap(epoch=epoch, shards=len(urls), matchers=urls)
        self._timeout = timeout
        self._redirects = redirects
        self._window = redirect_window_s
        self._pause = redirect_pause_s

    def switch(self, new: GatewayShardMap) -> None:
        self.map = new.model_copy(update={"matchers": [u.rstrip("/") for u in new.matchers]})

    def url_for(self, symbol: str) -> str:
        return self.map.matchers[self.map.owner(symbol)].rstrip("/")

    async def place(self, order_id: str, order: OrderRequest) -> Reply:
        body = matcher_body(order_id, order)
        return await self._routed(order.symbol, lambda url: self._client.request(
            "POST", f"{url}/v1/orders", route="/v1/orders", body=body, seconds=self._timeout))

    async def cancel(self, order_id: str, symbol: str) -> Reply:
        return await self._routed(symbol, lambda url: self._client.request(
            "DELETE", f"{url}/v1/orders/{order_id}", route="/v1/orders/{order_id}",
            params={"symbol": symbol}, seconds=self._timeout))

    async def _routed(self, symbol: str, send: Any) -> Reply:
        """Send to the symbol's owner; again, to the owner of the map then in force, while
        the matcher answers a retryable 421 (a resharding in progress)."""
        deadline = time.monotonic() + self._window
        while True:
            reply: Reply = await send(self.url_for(symbol))
            if not _misdirected(reply) or time.monotonic() >= deadline:
                return reply
            if self._redirects is not None:
                self._redirects.inc()
            await asyncio.sleep(self._pause)


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
