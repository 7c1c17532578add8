"""The ledger connection pool: connected in the background, probed, measured and traced.

The service starts (and answers /healthz) before the ledger is up; `ready_reason()` says why
it is not ready, from a `select 1` probe every second. The pool keeps no connection floor
(min_size=0) so that an outage is not retried in the background by the pool itself; the
probe keeps one connection warm. `transaction()` yields a traced `Session` inside one
transaction whose COMMIT is a span of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import asyncpg
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry

from testbed.errors import LedgerUnavailable
from testbed.service.dbmetrics import PoolMetrics
from testbed.service.dbsession import Session

__all__ = ["Database"]

log = logging.getLogger(__name__)


class Database:
    def __init__(self, dsn: str, registry: CollectorRegistry, tracer: Tracer, *,
                 application_name: str = "testbed", max_size: int = 10,
                 command_timeout: float = 2.0, acquire_timeout: float = 2.0,
                 probe_interval: float = 1.0) -> None:
        self._dsn = dsn
        self._tracer = tracer
        self._app = application_name
        self._max_size = max_size
        self._command_timeout = command_timeout
        self._acquire_timeout = acquire_timeout
        self._probe_interval = probe_interval
        self._pool: asyncpg.Pool | None = None
        self._task: asyncio.Task[None] | None = None
        self._problem: str | None = "not connected yet"
        self.metrics = PoolMetrics(registry, lambda: self._pool)
        self.errors = self.metrics.errors

    async def start(self) -> None:
        self._task = asyncio.create_task(self._maintain(), name="ledger-pool")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 2)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                self._pool.terminate()

    def ready_reason(self) -> str | None:
        """None when the ledger answered the last probe, else what went wrong."""
        return None if self._problem is None else f"ledger: {self._problem}"

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        pool = self._pool
        if pool is None:
            raise LedgerUnavailable(f"the ledger is not connected: {self._problem}")
        started = time.perf_counter()
        try:
            conn = await pool.acquire(timeout=self._acquire_timeout)
        except Exception:
            self.errors.labels(kind="connect").inc()
            raise
        self.metrics.acquire.observe(time.perf_counter() - started)
        try:
            yield Session(conn, self._tracer, self.errors)
        finally:
            await _release(pool, conn)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self.session() as session:
            tx = session.conn.transaction()
            await tx.start()
            try:
                yield session
            except BaseException:
                await _rollback(tx)
                raise
            await session.commit(tx)

    async def _maintain(self) -> None:
        delay = 0.2
        while self._pool is None:
            if await self._connect():
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        while True:
            await self._probe()
            await asyncio.sleep(self._probe_interval)

    async def _connect(self) -> bool:
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=0, max_size=self._max_size, timeout=self._command_timeout,
                command_timeout=self._command_timeout,
                server_settings={"application_name": self._app})
        except Exception as exc:  # noqa: BLE001 - keep trying in the background
            self._set_problem(f"cannot create the pool: {type(exc).__name__}: {exc}")
            self.errors.labels(kind="connect").inc()
            return False
        return True

    async def _probe(self) -> None:
        assert self._pool is not None
        try:
            await self._pool.fetchval("select 1", timeout=self._command_timeout)
        except Exception as exc:  # noqa: BLE001 - the probe only reports
            self._set_problem(f"probe failed: {type(exc).__name__}: {exc}")
        else:
            self._set_problem(None)

    def _set_problem(self, problem: str | None) -> None:
        if problem != self._problem:
            log.info("ledger %s", "ready" if problem is None else problem)
        self._problem = problem


async def _rollback(tx: asyncpg.transaction.Transaction) -> None:
    with contextlib.suppress(Exception):
        await tx.rollback()


async def _release(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    try:
        await pool.release(conn)
    except Exception:
        log.debug("could not release a ledger connection", exc_info=True)
