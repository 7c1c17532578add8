"""PostgreSQL's wire protocol through the real proxy: SCRAM authentication, queries, large
rows, a transaction; then latency on the link, and its removal."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from tests.platform.local.faultproxy.harness import running_proxy
from tests.support.pg import PgServer

pytestmark = pytest.mark.cluster

LINK = "matcher-0->ledger-proxy"


async def _queries(dsn: str) -> list[float]:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select repeat('x', 300000)") == "x" * 300_000
        rows = await conn.fetch("select g, md5(g::text) from generate_series(1, 5000) g")
        assert [r[0] for r in rows] == list(range(1, 5001))
        async with conn.transaction():
            await conn.execute("create temp table t (id int primary key, v text)")
            await conn.executemany("insert into t values ($1, $2)",
                                   [(i, str(i)) for i in range(200)])
        assert await conn.fetchval("select count(*) from t") == 200
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            await conn.fetchval("select $1::int + 1", 41)
            timings.append(time.perf_counter() - started)
        return timings
    finally:
        await conn.close()


def test_sql_through_the_proxy(pg_server: PgServer, tmp_path: Path) -> None:
    with running_proxy(tmp_path, {LINK: pg_server.port}) as proxy:
        dsn = pg_server.dsn.replace(f":{pg_server.port}/", f":{proxy.ports[LINK]}/")
        assert max(asyncio.run(_queries(dsn))) < 0.2
        proxy.client.set_fault(LINK, {"latency_ms": 200, "ttl_s": 60})
        assert min(asyncio.run(_queries(dsn))) >= 0.195
        proxy.client.clear(LINK)
        assert max(asyncio.run(_queries(dsn))) < 0.2
        assert proxy.client.link(LINK)["bytes"]["downstream"] > 300_000
