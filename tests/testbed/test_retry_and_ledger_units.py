"""Retrying through a failover, span names of ledger statements, and acks read back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from testbed.errors import LedgerUnavailable
from testbed.ledger.queries import OrderRow, TradeRow
from testbed.matcher.acks import ack_from_ledger, ack_from_plan
from testbed.matcher.orderbook import OrderBook
from testbed.matcher.orders import Order, Resting
from testbed.service.dbsession import span_name
from testbed.service.retry import Retryable, error_kind, is_connection_error, retry_until


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


@pytest.mark.parametrize("exc", [
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
    asyncpg.PostgresError("the database system is in recovery mode"),
    asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
    ConnectionRefusedError(), ConnectionResetError(), OSError("unreachable"), TimeoutError(),
    LedgerUnavailable("pool not connected"), Retryable("reload"),
])
def test_connection_class_errors_are_retried(exc: BaseException) -> None:
    assert is_connection_error(exc)


@pytest.mark.parametrize("exc", [
    asyncpg.UniqueViolationError("duplicate key"), asyncpg.CheckViolationError("check"),
    asyncpg.InterfaceError("another operation is in progress"), ValueError(), KeyError(),
])
def test_other_errors_are_not(exc: BaseException) -> None:
    assert not is_connection_error(exc)


def test_error_kinds() -> None:
    assert error_kind(TimeoutError()) == "timeout"
    assert error_kind(ConnectionResetError()) == "connection"
    assert error_kind(asyncpg.UniqueViolationError("x")) == "constraint"
    assert error_kind(asyncpg.SyntaxOrAccessError("x")) == "query"


def test_retry_backs_off_from_50ms_to_500ms_until_it_works() -> None:
    fake, failures = FakeTime(), [ConnectionResetError()] * 6
    retried: list[BaseException] = []

    async def attempt() -> str:
        if failures:
            raise failures.pop()
        return "done"

    result = asyncio.run(retry_until(attempt, deadline=10, on_retry=retried.append,
                                     clock=fake.clock, sleep=fake.sleep))
    assert result == "done" and len(retried) == 6
    assert fake.sleeps == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]


def test_retry_gives_up_at_the_deadline() -> None:
    fake = FakeTime()

    async def attempt() -> str:
        raise asyncpg.CannotConnectNowError("the database system is shutting down")

    with pytest.raises(LedgerUnavailable, match="shutting down"):
        asyncio.run(retry_until(attempt, deadline=3.0, clock=fake.clock, sleep=fake.sleep))
    assert fake.now == pytest.approx(3.0) and fake.sleeps[-1] <= 0.5


def test_retry_raises_other_errors_at_once() -> None:
    fake = FakeTime()

    async def attempt() -> str:
        raise asyncpg.UniqueViolationError("duplicate key value")

    with pytest.raises(asyncpg.UniqueViolationError):
        asyncio.run(retry_until(attempt, deadline=3.0, clock=fake.clock, sleep=fake.sleep))
    assert fake.sleeps == []


@pytest.mark.parametrize("sql, name", [
    ("insert into orders (order_id) values ($1)", "ledger INSERT orders"),
    ("\n update orders o set filled = 1 from unnest($1::uuid[]) as f(id)", "ledger UPDATE orders"),
    ("select nextval('ack_seq')", "ledger SELECT"),
    ("SELECT a FROM trades WHERE x", "ledger SELECT trades"),
    ("COMMIT", "ledger COMMIT"),
])
def test_span_names(sql: str, name: str) -> None:
    assert span_name("ledger", sql) == name


def _row(**changes: object) -> OrderRow:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    fields: dict[str, object] = {
        "order_id": "o-1", "seq": 7, "account": "a", "client_order_id": None, "symbol": "AAPL",
        "side": "buy", "type": "limit", "price_ticks": 100, "quantity": 10, "filled": 4,
        "status": "partially_filled", "cancel_seq": None, "created_at": now, "updated_at": now}
    return OrderRow(**(fields | changes))  # type: ignore[arg-type]


def _trade(trade_id: int, seq: int, quantity: int, sell: str) -> TradeRow:
    return TradeRow(trade_id, seq, "AAPL", 100, quantity, "o-1", sell, "a", "b", "buy",
                    datetime(2024, 1, 1, tzinfo=UTC))


def test_an_ack_read_back_from_the_ledger_matches_the_committed_order() -> None:
    trades = [_trade(1, 7, 3, "s-1"), _trade(2, 7, 1, "s-2"), _trade(3, 9, 2, "s-3")]
    ack = ack_from_ledger(_row(filled=6), trades)
    assert (ack.seq, ack.status, ack.filled, ack.remaining, ack.cancelled) == (
        7, "partially_filled", 4, 6, 0)
    assert [(f.trade_id, f.counter_order_id) for f in ack.fills] == [(1, "s-1"), (2, "s-2")]
    assert ack.recovered


def test_a_market_order_read_back_reports_its_cancelled_residual() -> None:
    ack = ack_from_ledger(_row(type="market", price_ticks=None, status="cancelled"),
                          [_trade(1, 7, 4, "s-1")])
    assert (ack.status, ack.filled, ack.remaining, ack.cancelled) == ("cancelled", 4, 0, 6)


def test_an_ack_from_a_plan() -> None:
    book = OrderBook("AAPL")
    book.add_resting(Resting("s-1", "b", "sell", 100, 5, 5, 1))
    plan = book.plan(Order("o-1", "a", "buy", "limit", 8, 101))
    ack = ack_from_plan("AAPL", plan, 2, {"s-1": 11})
    assert ack.to_json() == {
        "order_id": "o-1", "symbol": "AAPL", "seq": 2, "status": "partially_filled",
        "filled": 5, "remaining": 3, "cancelled": 0, "recovered": False,
        "fills": [{"trade_id": 11, "price_ticks": 100, "quantity": 5, "counter_order_id": "s-1"}]}
