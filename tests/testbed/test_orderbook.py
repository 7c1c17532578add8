"""The order book: price-time priority, partial fills, sweeps, market orders and cancels."""

from __future__ import annotations

import pytest

from testbed.matcher.orderbook import Level, OrderBook, StalePlan
from testbed.matcher.orders import MatchPlan, Order, Resting


def limit(order_id: str, side: str, quantity: int, price: int, account: str = "acc") -> Order:
    return Order(order_id, account, side, "limit", quantity, price)  # type: ignore[arg-type]


def market(order_id: str, side: str, quantity: int) -> Order:
    return Order(order_id, "acc", side, "market", quantity)  # type: ignore[arg-type]


class Book:
    """An order book that hands out increasing seqs, like the ledger does."""

    def __init__(self) -> None:
        self.book = OrderBook("AAPL")
        self.seq = 0

    def place(self, order: Order) -> MatchPlan:
        plan = self.book.plan(order)
        self.seq += 1
        self.book.apply(plan, self.seq)
        return plan


def fills(plan: MatchPlan) -> list[tuple[str, int, int]]:
    return [(f.resting_order_id, f.price_ticks, f.quantity) for f in plan.fills]


@pytest.fixture()
def b() -> Book:
    return Book()


def test_limit_order_on_an_empty_book_rests(b: Book) -> None:
    plan = b.place(limit("b1", "buy", 10, 100))
    assert plan.fills == () and plan.rests and plan.status == "new" and plan.residual == 10
    assert b.book.best_bid() == 100 and b.book.best_ask() is None
    assert "b1" in b.book and b.book.get("b1") == Resting("b1", "acc", "buy", 100, 10, 10, 1)


def test_non_crossing_orders_rest_on_both_sides(b: Book) -> None:
    b.place(limit("b1", "buy", 10, 99))
    plan = b.place(limit("s1", "sell", 10, 100))
    assert plan.fills == () and b.book.best_bid() == 99 and b.book.best_ask() == 100


def test_fill_at_the_resting_price_not_the_aggressor_price(b: Book) -> None:
    b.place(limit("s1", "sell", 10, 100))
    plan = b.place(limit("b1", "buy", 10, 105))
    assert fills(plan) == [("s1", 100, 10)] and plan.status == "filled"
    assert len(b.book) == 0 and b.book.best_ask() is None and b.book.best_bid() is None


def test_price_priority_across_levels_for_buys(b: Book) -> None:
    b.place(limit("s101", "sell", 5, 101))
    b.place(limit("s100", "sell", 5, 100))
    b.place(limit("s102", "sell", 5, 102))
    plan = b.place(limit("b", "buy", 5, 102))
    assert fills(plan) == [("s100", 100, 5)]


def test_price_priority_across_levels_for_sells(b: Book) -> None:
    b.place(limit("b99", "buy", 5, 99))
    b.place(limit("b101", "buy", 5, 101))
    b.place(limit("b100", "buy", 5, 100))
    plan = b.place(limit("s", "sell", 5, 99))
    assert fills(plan) == [("b101", 101, 5)]


def test_time_priority_within_a_level(b: Book) -> None:
    for name in ("first", "second", "third"):
        b.place(limit(name, "sell", 4, 100))
    plan = b.place(limit("b", "buy", 6, 100))
    assert fills(plan) == [("first", 100, 4), ("second", 100, 2)]
    assert b.book.get("second").remaining == 2  # type: ignore[union-attr]
    plan = b.place(limit("b2", "buy", 3, 100))
    assert fills(plan) == [("second", 100, 2), ("third", 100, 1)]


def test_partial_fill_of_the_resting_order_keeps_its_priority(b: Book) -> None:
    b.place(limit("old", "sell", 10, 100))
    b.place(limit("young", "sell", 10, 100))
    b.place(limit("b1", "buy", 3, 100))
    plan = b.place(limit("b2", "buy", 8, 100))
    assert fills(plan) == [("old", 100, 7), ("young", 100, 1)]
    assert plan.fills[0].resting_remaining == 0 and plan.fills[1].resting_remaining == 9


def test_partial_fill_of_the_aggressor_rests_the_residual(b: Book) -> None:
    b.place(limit("s1", "sell", 4, 100))
    plan = b.place(limit("b1", "buy", 10, 101))
    assert fills(plan) == [("s1", 100, 4)]
    assert plan.status == "partially_filled" and plan.filled == 4 and plan.residual == 6
    assert b.book.best_bid() == 101 and b.book.best_ask() is None
    assert b.book.get("b1") == Resting("b1", "acc", "buy", 101, 10, 6, 2)
    assert b.book.get("b1").filled == 4  # type: ignore[union-attr]


def test_multi_level_sweep_stops_at_the_limit_price(b: Book) -> None:
    b.place(limit("s100", "sell", 3, 100))
    b.place(limit("s101a", "sell", 3, 101))
    b.place(limit("s101b", "sell", 3, 101))
    b.place(limit("s103", "sell", 3, 103))
    plan = b.place(limit("b", "buy", 20, 102))
    assert fills(plan) == [("s100", 100, 3), ("s101a", 101, 3), ("s101b", 101, 3)]
    assert plan.residual == 11 and b.book.best_bid() == 102 and b.book.best_ask() == 103


def test_sell_sweep_walks_bids_downwards(b: Book) -> None:
    b.place(limit("b100", "buy", 2, 100))
    b.place(limit("b98", "buy", 2, 98))
    b.place(limit("b99", "buy", 2, 99))
    plan = b.place(limit("s", "sell", 5, 98))
    assert fills(plan) == [("b100", 100, 2), ("b99", 99, 2), ("b98", 98, 1)]
    assert plan.status == "filled" and b.book.best_bid() == 98
    assert b.book.depth("buy") == [Level(98, 1, 1)] and b.book.totals("buy") == (1, 1)


def test_market_order_on_an_empty_book_is_cancelled_and_never_rests(b: Book) -> None:
    plan = b.place(market("m", "buy", 10))
    assert plan.fills == () and not plan.rests
    assert plan.status == "cancelled" and plan.cancelled == 10 and plan.filled == 0
    assert "m" not in b.book and len(b.book) == 0


def test_market_order_on_a_thin_book_fills_what_there_is(b: Book) -> None:
    b.place(limit("s100", "sell", 3, 100))
    b.place(limit("s150", "sell", 2, 150))
    plan = b.place(market("m", "buy", 10))
    assert fills(plan) == [("s100", 100, 3), ("s150", 150, 2)]
    assert plan.status == "cancelled" and plan.filled == 5 and plan.cancelled == 5
    assert len(b.book) == 0


def test_market_order_fully_filled(b: Book) -> None:
    b.place(limit("b1", "buy", 10, 100))
    plan = b.place(market("m", "sell", 4))
    assert fills(plan) == [("b1", 100, 4)] and plan.status == "filled" and plan.cancelled == 0
    assert b.book.get("b1").remaining == 6  # type: ignore[union-attr]


def test_plan_does_not_mutate_the_book(b: Book) -> None:
    b.place(limit("s1", "sell", 5, 100))
    before = (b.book.version, b.book.depth("sell"), b.book.get("s1"))
    plan = b.book.plan(limit("b1", "buy", 50, 100))
    assert fills(plan) == [("s1", 100, 5)]
    assert (b.book.version, b.book.depth("sell"), b.book.get("s1")) == before
    assert b.book.get("s1").remaining == 5  # type: ignore[union-attr]


def test_a_plan_is_stale_once_the_book_changes(b: Book) -> None:
    b.place(limit("s1", "sell", 5, 100))
    plan = b.book.plan(limit("b1", "buy", 5, 100))
    b.book.cancel("s1")
    with pytest.raises(StalePlan):
        b.book.apply(plan, 99)
    assert b.book.best_bid() is None


def test_cancel_a_resting_order(b: Book) -> None:
    b.place(limit("s1", "sell", 5, 100))
    b.place(limit("s2", "sell", 5, 100))
    cancelled = b.book.cancel("s1")
    assert cancelled is not None and cancelled.order_id == "s1"
    assert "s1" not in b.book and b.book.depth("sell")[0].orders == 1
    plan = b.place(limit("b", "buy", 5, 100))
    assert fills(plan) == [("s2", 100, 5)]


def test_cancel_the_last_order_of_a_level_removes_the_level(b: Book) -> None:
    b.place(limit("b1", "buy", 5, 100))
    b.place(limit("b2", "buy", 5, 99))
    b.book.cancel("b1")
    assert b.book.best_bid() == 99 and [lvl.price_ticks for lvl in b.book.depth("buy")] == [99]


def test_cancel_a_partially_filled_order(b: Book) -> None:
    b.place(limit("b1", "buy", 10, 100))
    b.place(limit("s1", "sell", 4, 100))
    cancelled = b.book.cancel("b1")
    assert cancelled is not None and cancelled.remaining == 6 and cancelled.filled == 4
    assert b.book.best_bid() is None and len(b.book) == 0


def test_cancel_unknown_or_filled_orders_returns_none(b: Book) -> None:
    assert b.book.cancel("nope") is None
    b.place(limit("s1", "sell", 5, 100))
    b.place(limit("b1", "buy", 5, 100))
    assert b.book.cancel("s1") is None and b.book.cancel("b1") is None
    version = b.book.version
    assert b.book.cancel("s1") is None and b.book.version == version


def test_depth_reports_orders_and_quantity_per_level_best_first(b: Book) -> None:
    b.place(limit("a", "sell", 1, 103))
    b.place(limit("b", "sell", 2, 101))
    b.place(limit("c", "sell", 3, 101))
    b.place(limit("d", "sell", 4, 102))
    b.place(limit("e", "buy", 5, 99))
    levels = [(lvl.price_ticks, lvl.orders, lvl.quantity) for lvl in b.book.depth("sell")]
    assert levels == [(101, 2, 5), (102, 1, 4), (103, 1, 1)]
    assert [lvl.price_ticks for lvl in b.book.depth("sell", 2)] == [101, 102]
    assert b.book.totals("sell") == (4, 10) and b.book.totals("buy") == (1, 5)
    assert b.book.depth("buy", 0) == []


def test_rebuild_in_any_order_restores_seq_priority() -> None:
    book = OrderBook("AAPL")
    book.add_resting(Resting("late", "x", "sell", 100, 5, 5, 9))
    book.add_resting(Resting("early", "x", "sell", 100, 5, 2, 3))
    book.add_resting(Resting("middle", "x", "sell", 100, 5, 5, 6))
    plan = book.plan(limit("b", "buy", 8, 100))
    assert fills(plan) == [("early", 100, 2), ("middle", 100, 5), ("late", 100, 1)]


def test_rebuild_refuses_duplicates_and_empty_orders() -> None:
    book = OrderBook("AAPL")
    book.add_resting(Resting("o", "x", "buy", 100, 5, 5, 1))
    with pytest.raises(ValueError):
        book.add_resting(Resting("o", "x", "buy", 100, 5, 5, 2))
    with pytest.raises(ValueError):
        book.add_resting(Resting("z", "x", "buy", 100, 5, 0, 3))


def test_apply_refuses_an_order_id_already_on_the_book(b: Book) -> None:
    b.place(limit("b1", "buy", 5, 100))
    with pytest.raises(ValueError):
        b.place(limit("b1", "buy", 5, 99))


@pytest.mark.parametrize("kwargs", [
    {"type": "limit", "quantity": 0, "price_ticks": 100},
    {"type": "limit", "quantity": -1, "price_ticks": 100},
    {"type": "limit", "quantity": 1, "price_ticks": None},
    {"type": "limit", "quantity": 1, "price_ticks": 0},
    {"type": "market", "quantity": 1, "price_ticks": 100},
])
def test_orders_are_checked_on_construction(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Order("o", "acc", "buy", **kwargs)  # type: ignore[arg-type]


def test_crossing_at_equal_price_trades_and_one_tick_apart_does_not(b: Book) -> None:
    b.place(limit("s", "sell", 1, 100))
    assert b.place(limit("b99", "buy", 1, 99)).fills == ()
    assert fills(b.place(limit("b100", "buy", 1, 100))) == [("s", 100, 1)]
