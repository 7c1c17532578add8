"""Fencing of symbol ownership against a real PostgreSQL: when a matcher claims a symbol under
a newer shard-map epoch, the old owner can no longer commit on it (nothing half-written), the
claim waits for the old owner's commit in flight, and an older epoch cannot take it back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from testbed.matcher.books import Books
from testbed.matcher.engine import Matcher, NewOrder
from testbed.matcher.metrics import MatcherMetrics
from testbed.matcher.orders import Order
from testbed.matcher.ownership import Fence, NotOwner, claim
from testbed.service.db import Database

pytestmark = pytest.mark.cluster


class Node:
    """One matcher's books and engine on its own pool, serving `symbols` under `fence`."""

    def __init__(self, db: Database, symbols: list[str], fence: Fence) -> None:
        registry = CollectorRegistry()
        self.metrics = MatcherMetrics(registry, symbols, lambda: self.books.books)
        self.books = Books(symbols, db, self.metrics.book_reloads, fence)
        self.matcher = Matcher(self.books, db, self.metrics, deadline=1.0)

    async def submit(self, symbol: str, side: str, price: int, quantity: int = 1) -> object:
        order = Order(str(uuid.uuid4()), f"acct-{side}", side, "limit", quantity, price)  # type: ignore[arg-type]
        return await self.matcher.submit(NewOrder(order, symbol, None))


def run(dsn: str, scenario: Callable[[Database, asyncpg.Connection], Awaitable[None]]) -> None:
    async def main() -> None:
        db = Database(dsn, CollectorRegistry(), TracerProvider().get_tracer("t"),
                      probe_interval=0.1)
        await db.start()
        raw = await asyncpg.connect(dsn)
        try:
            for _ in range(100):
                if db.ready_reason() is None:
                    break
                await asyncio.sleep(0.05)
            await scenario(db, raw)
        finally:
            await raw.close()
            await db.close()
    asyncio.run(main())


def test_a_newer_epoch_fences_the_old_owner_and_takes_its_book(ledger_dsn: str) -> None:
    async def scenario(db: Database, raw: asyncpg.Connection) -> None:
        old = Node(db, ["AAPL"], Fence(1, "matcher-0"))
        await old.matcher.load_all()
        sell = await old.submit("AAPL", "sell", 19000)
        new = Node(db, ["AAPL"], Fence(2, "matcher-1"))
        await new.matcher.load_all()                         # claims AAPL under epoch 2
        assert new.books["AAPL"].best_ask() == 19000         # it has the old owner's order
        with pytest.raises(NotOwner, match="matcher-1 holds it under epoch 2"):
            await old.submit("AAPL", "buy", 19000)           # its stale book would fill it
        buy = await new.submit("AAPL", "buy", 19000)
        assert [f.counter_order_id for f in buy.fills] == [sell.order_id]  # type: ignore[attr-defined]
        trades = await raw.fetchval("select count(*) from trades where sell_order_id = $1",
                                    uuid.UUID(sell.order_id))  # type: ignore[attr-defined]
        orders = await raw.fetchval("select count(*) from orders where symbol = 'AAPL'")
        assert (trades, orders) == (1, 2)                    # filled once; nothing half-written
    run(ledger_dsn, scenario)


def test_a_claim_waits_for_the_old_owners_commit_in_flight(ledger_dsn: str) -> None:
    async def scenario(db: Database, raw: asyncpg.Connection) -> None:
        await claim(raw, "MSFT", Fence(1, "matcher-0"))
        tx = raw.transaction()
        await tx.start()                                     # matcher-0 mid-commit on MSFT
        await raw.fetchrow("select epoch from symbol_owners where symbol = 'MSFT' for share")
        other = await asyncpg.connect(ledger_dsn)
        try:
            taking = asyncio.create_task(claim(other, "MSFT", Fence(2, "matcher-1")))
            await asyncio.sleep(0.3)
            assert not taking.done()                         # waits for that commit
            await tx.commit()
            await asyncio.wait_for(taking, 5)
        finally:
            await other.close()
        row = await raw.fetchrow("select epoch, owner from symbol_owners where symbol = 'MSFT'")
        assert (row["epoch"], row["owner"]) == (2, "matcher-1")
    run(ledger_dsn, scenario)


def test_an_older_epoch_cannot_take_a_symbol_back(ledger_dsn: str) -> None:
    async def scenario(db: Database, raw: asyncpg.Connection) -> None:
        await claim(raw, "NVDA", Fence(5, "matcher-1"))
        await claim(raw, "NVDA", Fence(5, "matcher-1"))      # the owner again: idempotent
        with pytest.raises(NotOwner, match="matcher-1 holds it under epoch 5"):
            await claim(raw, "NVDA", Fence(4, "matcher-0"))
        with pytest.raises(NotOwner):
            await claim(raw, "NVDA", Fence(5, "matcher-0"))  # same epoch, another owner
    run(ledger_dsn, scenario)


def test_a_new_map_drops_lost_books_and_reloads_the_rest_before_use(ledger_dsn: str) -> None:
    async def scenario(db: Database, raw: asyncpg.Connection) -> None:
        node = Node(db, ["GOOG", "TSLA"], Fence(1, "matcher-0"))
        await node.matcher.load_all()
        gained, lost = node.books.assign(["TSLA", "XOM"], Fence(2, "matcher-0"))
        assert (gained, lost) == (["XOM"], ["GOOG"])
        assert "GOOG" not in node.books and not node.books.loaded()
        with pytest.raises(NotOwner):
            await node.submit("GOOG", "buy", 17000)
        await node.submit("XOM", "buy", 11500)               # claimed and loaded on first use
        await node.matcher.load_all()
        assert node.books.loaded()
        owners = dict(await raw.fetch("select symbol, epoch from symbol_owners "
                                      "where symbol = any($1::text[])", ["TSLA", "XOM"]))
        assert owners == {"TSLA": 2, "XOM": 2}
    run(ledger_dsn, scenario)
