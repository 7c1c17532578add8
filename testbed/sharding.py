"""Which matcher shard owns a symbol: defined once, used by the gateway and the matchers."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

__all__ = ["shard_of", "symbols_of_shard"]


def shard_of(symbol: str, shards: int) -> int:
    """The shard (0-based) that owns `symbol` when the book is split over `shards` matchers."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1 (got {shards})")
    return zlib.crc32(symbol.encode()) % shards


def symbols_of_shard(symbols: Iterable[str], shard: int, shards: int) -> list[str]:
    """The symbols, in sorted order, that shard `shard` of `shards` owns."""
    return sorted(s for s in symbols if shard_of(s, shards) == shard)
