"""The matcher against a real PostgreSQL, in process: commits before the book changes, and
in-doubt commits (the connection dies after COMMIT went through) are recovered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from testbed.errors import LedgerUnavailable
from testbed.matcher.books import Books
from testbed.matcher.cancels import Canceller
from testbed.matcher.engine import Matcher, NewOrder
from testbed.matcher.metrics import MatcherMetrics
from testbed.matcher.orders import Order
from testbed.service.db import Database
from testbed.service.dbsession import Session

pytestmark = pytest.mark.cluster

SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "TSLA", "JPM", "XOM"]


class Rig:
    def __init__(self, db: Database, registry: CollectorRegistry,
                 exporter: InMemorySpanExporter) -> None:
        self.db, self.registry, self.exporter = db, registry, exporter
        self.metrics = MatcherMetrics(registry, SYMBOLS, lambda: self.books.books)
        self.books = Books(SYMBOLS, db, self.metrics.book_reloads)
        self.matcher = Matcher(self.books, db, self.metrics, deadline=1.0)
        self.canceller = Canceller(self.matcher, self.metrics)

    async def submit(self, symbol: str, side: str, quantity: int, price: int | None,
                     account: str = "acc") -> Any:
        kind = "limit" if price is not None else "market"
        order = Order(str(uuid.uuid4()), account, side, kind, quantity, price)  # type: ignore[arg-type]
        return await self.matcher.submit(NewOrder(order, symbol, None))

    async def ledger(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.db.session() as session:
            return await session.fetch(sql, *args)

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.registry.get_sample_value(name, labels or {})


def run(ledger_dsn: str, scenario: Callable[[Rig], Awaitable[None]]) -> None:
    async def main() -> None:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        registry = CollectorRegistry()
        db = Database(ledger_dsn, registry, provider.get_tracer("t"), probe_interval=0.1)
        await db.start()
        try:
            for _ in range(100):
                if db.ready_reason() is None:
                    break
                await asyncio.sleep(0.05)
            rig = Rig(db, registry, exporter)
            await rig.matcher.load_all()
            await scenario(rig)
        finally:
            await db.close()
    asyncio.run(main())


def fail_after_commit(monkeypatch: pytest.MonkeyPatch, times: int = 1) -> list[int]:
    """COMMIT goes through, then the connection 'dies' before the client hears of it."""
    real, failures = Session.commit, [times]

    async def commit(self: Session, tx: Any) -> None:
        await real(self, tx)
        if failures[0] > 0:
            failures[0] -= 1
            raise asyncpg.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation")
    monkeypatch.setattr(Session, "commit", commit)
    return failures


def test_commit_then_apply_and_spans(ledger_dsn: str) -> None:
    async def scenario(rig: Rig) -> None:
        sell = await rig.submit("AAPL", "sell", 10, 19000, account="s")
        buy = await rig.submit("AAPL", "buy", 4, 19100, account="b")
        assert (buy.status, buy.filled, buy.fills[0].counter_order_id) == (
            "filled", 4, sell.order_id)
        rows = await rig.ledger("select filled, status from orders where order_id = $1",
                                uuid.UUID(sell.order_id))
        assert (rows[0]["filled"], rows[0]["status"]) == (4, "partially_filled")
        assert rig.books["AAPL"].get(sell.order_id).remaining == 6  # type: ignore[union-attr]
        spans = rig.exporter.get_finished_spans()
        names = {s.name for s in spans if s.attributes.get("peer.service") == "ledger"}
        assert {"ledger INSERT orders", "ledger UPDATE orders", "ledger INSERT trades",
                "ledger COMMIT"} <= names
        assert rig.sample("matcher_commit_seconds_count") == 2
    run(ledger_dsn, scenario)


def test_an_in_doubt_commit_is_recovered_not_repeated(ledger_dsn: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(rig: Rig) -> None:
        sell = await rig.submit("MSFT", "sell", 10, 41000, account="s")
        fail_after_commit(monkeypatch)
        buy = await rig.submit("MSFT", "buy", 4, 41000, account="b")
        assert buy.recovered and (buy.status, buy.filled) == ("filled", 4)
        assert [f.counter_order_id for f in buy.fills] == [sell.order_id]
        trades = await rig.ledger("select quantity from trades where buy_order_id = $1",
                                  uuid.UUID(buy.order_id))
        assert [t["quantity"] for t in trades] == [4]  # committed once, not twice
        assert rig.books["MSFT"].get(sell.order_id).remaining == 6  # type: ignore[union-attr]
        assert rig.sample("matcher_ledger_retries_total") == 1
        assert rig.sample("matcher_book_reloads_total", {"symbol": "MSFT"}) == 2
    run(ledger_dsn, scenario)


def test_a_failed_transaction_leaves_the_book_unchanged(ledger_dsn: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(rig: Rig) -> None:
        sell = await rig.submit("NVDA", "sell", 10, 12000, account="s")
        before = rig.books["NVDA"].depth("sell")

        async def dead(self: Session, tx: Any) -> None:
            raise asyncpg.ConnectionDoesNotExistError("connection was closed")
        monkeypatch.setattr(Session, "commit", dead)
        with pytest.raises(LedgerUnavailable):
            await rig.submit("NVDA", "buy", 4, 12000, account="b")
        monkeypatch.undo()
        assert rig.books["NVDA"].depth("sell") == before
        assert rig.books["NVDA"].get(sell.order_id).remaining == 10  # type: ignore[union-attr]
        assert await rig.ledger("select 1 from trades where symbol = 'NVDA'") == []
        assert rig.books.stale() == ["NVDA"]  # reloaded before the next order
        await rig.submit("NVDA", "buy", 1, 12000, account="b")
        assert rig.books.stale() == [] and rig.books["NVDA"].totals("sell") == (1, 9)
    run(ledger_dsn, scenario)


def test_an_in_doubt_cancel_is_recovered(ledger_dsn: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(rig: Rig) -> None:
        order = await rig.submit("AMZN", "buy", 3, 18000)
        fail_after_commit(monkeypatch)
        ack = await rig.canceller.cancel(order.order_id, "AMZN")
        rows = await rig.ledger("select status, cancel_seq from orders where order_id = $1",
                                uuid.UUID(order.order_id))
        assert (rows[0]["status"], rows[0]["cancel_seq"]) == ("cancelled", ack.seq)
        assert order.order_id not in rig.books["AMZN"]
    run(ledger_dsn, scenario)


def test_a_book_that_drifted_from_the_ledger_is_reloaded(ledger_dsn: str) -> None:
    async def scenario(rig: Rig) -> None:
        sell = await rig.submit("TSLA", "sell", 5, 25000, account="s")
        await rig.ledger("update orders set status = 'cancelled' where order_id = $1 "
                         "returning 1", uuid.UUID(sell.order_id))
        buy = await rig.submit("TSLA", "buy", 5, 25000, account="b")
        assert (buy.status, buy.fills) == ("new", ())  # nothing left to trade against
        assert sell.order_id not in rig.books["TSLA"]
        assert rig.books["TSLA"].best_bid() == 25000
    run(ledger_dsn, scenario)


def test_bootstrap_gives_the_app_user_its_tables(ledger_dsn: str) -> None:
    async def check() -> None:
        conn = await asyncpg.connect(ledger_dsn)
        try:
            owners = await conn.fetch("select tablename, tableowner from pg_tables "
                                      "where schemaname = 'public' order by tablename")
            assert [(r["tablename"], r["tableowner"]) for r in owners] == [
                ("orders", "trader"), ("symbol_owners", "trader"), ("trades", "trader")]
            first, second = await conn.fetchval("select nextval('ack_seq')"), \
                await conn.fetchval("select nextval('ack_seq')")
            assert second > first
        finally:
            await conn.close()
    asyncio.run(check())


def test_schema_refuses_floats_and_bad_states(ledger_dsn: str) -> None:
    async def check() -> None:
        conn = await asyncpg.connect(ledger_dsn)
        try:
            types = dict(await conn.fetch(
                "select column_name, data_type from information_schema.columns "
                "where table_name in ('orders', 'trades') and column_name like '%ticks'"))
            assert set(types.values()) == {"bigint"}
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute(
                    "insert into orders (order_id, seq, account, symbol, side, type, "
                    "price_ticks, quantity, status) values ($1, nextval('ack_seq'), 'a', "
                    "'AAPL', 'buy', 'market', 100, 1, 'new')", uuid.uuid4())
        finally:
            await conn.close()
    asyncio.run(check())
