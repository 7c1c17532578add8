"""Metrics of the ledger connection pool, registered on the registry it is given."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["PoolMetrics"]

_ACQUIRE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class PoolMetrics:
    """db_pool_size and db_pool_idle (read at scrape time), db_pool_acquire_seconds and
    db_errors_total{kind} (kind: connect, connection, timeout, constraint, query)."""

    def __init__(self, registry: CollectorRegistry,
                 pool: Callable[[], asyncpg.Pool | None]) -> None:
        Gauge("db_pool_size", "Connections open in the ledger pool", registry=registry
              ).set_function(lambda: _size(pool(), idle=False))
        Gauge("db_pool_idle", "Idle connections in the ledger pool", registry=registry
              ).set_function(lambda: _size(pool(), idle=True))
        self.acquire = Histogram("db_pool_acquire_seconds",
                                 "Time to get a connection from the ledger pool",
                                 buckets=_ACQUIRE_BUCKETS, registry=registry)
        self.errors = Counter("db_errors_total", "Ledger errors by kind", ["kind"],
                              registry=registry)


def _size(pool: asyncpg.Pool | None, idle: bool) -> int:
    if pool is None:
        return 0
    return pool.get_idle_size() if idle else pool.get_size()
