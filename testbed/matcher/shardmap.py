"""The matcher's side of runtime resharding: `GET|PUT /admin/shardmap` (behind the admin token).

    PUT /admin/shardmap  {"epoch": E, "shards": N}
        -> 200 {"epoch", "shards", "owned", "gained", "lost", "loaded", "in_flight"}
           once every owned book is claimed under E and loaded from the ledger (or the wait
           ran out: "loaded": false); 409 for an epoch older than the one in force, or the
           same epoch with another layout.
    GET /admin/shardmap  -> the same view, for the platform's drain of a leaving matcher.

Lost symbols stop being served at once (421, retryable, to the gateway); gained ones are
claimed in the ledger (fencing their old owner) and loaded before they are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge

from testbed.errors import ApiError
from testbed.matcher.engine import Matcher
from testbed.matcher.ownership import Fence
from testbed.service.jsonio import json_response, read_json, validate_body
from testbed.sharding import ShardMap
from testbed.trading import Trading

__all__ = ["ShardMapRoutes"]

log = logging.getLogger(__name__)

LOAD_WAIT_S = 10.0


class ShardMapRoutes:
    def __init__(self, shard_map: ShardMap, shard: int, instance: str, trading: Trading,
                 matcher: Matcher, registry: CollectorRegistry) -> None:
        self.map = shard_map
        self._shard = shard
        self._instance = instance
        self._symbols = list(trading.symbols)
        self._matcher = matcher
        self._in_flight = 0
        self._gauge = Gauge("matcher_in_flight", "Order and cancel requests being handled",
                            registry=registry)
        self._epoch = Gauge("matcher_shard_epoch", "Epoch of the shard map in force",
                            registry=registry)
        self._epoch.set(shard_map.epoch)
        self._change = asyncio.Lock()

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        self._in_flight += 1
        self._gauge.inc()
        try:
            yield
        finally:
            self._in_flight -= 1
            self._gauge.dec()

    def view(self, **extra: Any) -> dict[str, Any]:
        books = self._matcher.books
        return {"epoch": self.map.epoch, "shards": self.map.shards, "shard": self._shard,
                "owned": books.symbols, "loaded": books.loaded(),
                "in_flight": self._in_flight, **extra}

    async def get(self, _: web.Request) -> web.Response:
        return json_response(self.view())

    async def put(self, request: web.Request) -> web.Response:
        new = validate_body(ShardMap, await read_json(request), status=400)
        async with self._change:
            if new.epoch < self.map.epoch or (new.epoch == self.map.epoch and new != self.map):
                raise ApiError(409, f"shard map epoch {new.epoch} ({new.shards} shards) is not "
                                    f"newer than the one in force (epoch {self.map.epoch}, "
                                    f"{self.map.shards} shards)", field="epoch",
                               value=new.epoch, extra={"shard_epoch": self.map.epoch})
            gained: list[str] = []
            lost: list[str] = []
            if new != self.map:
                owned = new.symbols_of(self._shard, self._symbols)
                gained, lost = self._matcher.books.assign(owned,
                                                          Fence(new.epoch, self._instance))
                self.map = new
                self._epoch.set(new.epoch)
                log.info("shard map epoch %d (%d shards): owns %s; gained %s, lost %s",
                         new.epoch, new.shards, owned, gained, lost)
            problem = await self._load()
        return json_response(self.view(gained=gained, lost=lost, problem=problem))

    async def _load(self) -> str | None:
        """Claim and load every owned book now, within LOAD_WAIT_S; the problem if not."""
        try:
            async with asyncio.timeout(LOAD_WAIT_S):
                while not self._matcher.books.loaded():
                    await self._matcher.load_all()
        except Exception as exc:  # noqa: BLE001 - reported to the platform, the loader retries
            return f"{type(exc).__name__}: {exc}"
        return None
