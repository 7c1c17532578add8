"""Which matcher shard owns a symbol: defined once, used by the gateway and the matchers.

A `ShardMap` is the layout in force: how many shards, under which epoch. The epoch only grows
(the platform bumps it at every resharding and at every cluster start); a matcher claims its
symbols in the ledger under the epoch it serves, which fences whoever served them before (see
testbed/matcher/ownership.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, StrictInt

__all__ = ["ShardMap", "shard_of", "symbols_of_shard"]


def shard_of(symbol: str, shards: int) -> int:
    """The shard (0-based) that owns `symbol` when the book is split over `shards` matchers."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1 (got {shards})")
    return zlib.crc32(symbol.encode()) % shards


def symbols_of_shard(symbols: Iterable[str], shard: int, shards: int) -> list[str]:
    """The symbols, in sorted order, that shard `shard` of `shards` owns (none when `shard`
    is not below `shards`: a matcher being removed)."""
    if shard >= shards:
        return []
    return sorted(s for s in symbols if shard_of(s, shards) == shard)


class ShardMap(BaseModel):
    """The layout in force: `shards` matchers, under `epoch` (only ever grows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epoch: StrictInt = Field(ge=1, le=2**62)
    shards: StrictInt = Field(ge=1, le=1024)

    def owner(self, symbol: str) -> int:
        return shard_of(symbol, self.shards)

    def symbols_of(self, shard: int, symbols: Iterable[str]) -> list[str]:
        return symbols_of_shard(symbols, shard, self.shards)

    def moves(self, newer: ShardMap, symbols: Iterable[str]) -> dict[str, tuple[int, int]]:
        """The symbols whose owner changes from this map to `newer`: {symbol: (old, new)}."""
        return {s: (self.owner(s), newer.owner(s)) for s in sorted(symbols)
                if self.owner(s) != newer.owner(s)}
