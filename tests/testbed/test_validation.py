"""Validation of new orders: every refusal names the field and the value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from testbed.errors import ApiError
from testbed.gateway.validation import parse_order
from testbed.service.jsonio import parse_json
from testbed.trading import Trading

GOOD = {"account": "alice", "symbol": "AAPL", "side": "buy", "type": "limit", "quantity": 10,
        "price": "190.05"}


def order(**changes: Any) -> dict[str, Any]:
    body = {**GOOD, **changes}
    return {k: v for k, v in body.items() if v is not ...}


def refusal(body: Any, trading: Trading) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_order(body, trading)
    return caught.value


def test_a_good_limit_order(trading: Trading) -> None:
    parsed = parse_order(order(client_order_id="c-1"), trading)
    assert parsed.price == Decimal("190.05") and parsed.price_ticks == 19005
    assert (parsed.account, parsed.symbol, parsed.side, parsed.type, parsed.quantity,
            parsed.client_order_id) == ("alice", "AAPL", "buy", "limit", 10, "c-1")


def test_a_good_market_order(trading: Trading) -> None:
    parsed = parse_order(order(type="market", price=...), trading)
    assert parsed.price is None and parsed.price_ticks is None


@pytest.mark.parametrize("price, ticks", [
    ("190.05", 19005), ("190", 19000), (190, 19000), (Decimal("190.1"), 19010),
    ("190.050", 19005),
])
def test_price_forms(trading: Trading, price: Any, ticks: int) -> None:
    assert parse_order(order(price=price), trading).price_ticks == ticks


def test_json_numbers_are_exact_decimals(trading: Trading) -> None:
    body = parse_json('{"account": "a", "symbol": "AAPL", "side": "buy", "type": "limit", '
                      '"quantity": 1, "price": 190.07}')
    assert parse_order(body, trading).price_ticks == 19007


@pytest.mark.parametrize("body", [[], "text", 12, None, [GOOD]])
def test_a_body_that_is_not_an_object_is_a_400(trading: Trading, body: Any) -> None:
    error = refusal(body, trading)
    assert error.status == 400 and error.field == "body"


@pytest.mark.parametrize("field", ["account", "symbol", "side", "type", "quantity"])
def test_missing_fields(trading: Trading, field: str) -> None:
    error = refusal(order(**{field: ...}), trading)
    assert (error.status, error.field, error.message) == (422, field, "required")
    assert refusal(order(**{field: None}), trading).field == field


def test_extra_fields(trading: Trading) -> None:
    error = refusal(order(leverage=10), trading)
    assert (error.status, error.field, error.value) == (422, "leverage", 10)
    assert "allowed" in error.message


def test_unknown_symbol_lists_the_valid_ones(trading: Trading) -> None:
    error = refusal(order(symbol="ZZZZ"), trading)
    assert (error.status, error.field, error.value) == (422, "symbol", "ZZZZ")
    assert "AAPL" in error.message and "XOM" in error.message


@pytest.mark.parametrize("field, value", [
    ("side", "hold"), ("side", "BUY"), ("side", 1), ("side", ["buy"]),
    ("type", "stop"), ("type", True), ("account", ""), ("account", 42), ("symbol", 7),
])
def test_enums_and_strings(trading: Trading, field: str, value: Any) -> None:
    error = refusal(order(**{field: value}), trading)
    assert (error.status, error.field, error.value) == (422, field, value)


@pytest.mark.parametrize("quantity", [0, -5, 1.5, Decimal("10.0"), True, False, "10", [10]])
def test_quantity_must_be_a_positive_integer(trading: Trading, quantity: Any) -> None:
    error = refusal(order(quantity=quantity), trading)
    assert (error.status, error.field, error.value) == (422, "quantity", quantity)


@pytest.mark.parametrize("price", [
    "0", "-1", "-190.05", 0, -3, "abc", "", " 190.05", "1e2", "NaN", "Infinity", True,
    [190], {"p": 1}, Decimal("-0.01"), "190.", ".5", "1000000000.01",
])
def test_price_must_be_a_positive_decimal(trading: Trading, price: Any) -> None:
    error = refusal(order(price=price), trading)
    assert (error.status, error.field, error.value) == (422, "price", price)


@pytest.mark.parametrize("price", ["190.055", "190.001", Decimal("190.0001"), "0.001"])
def test_price_must_be_on_the_tick(trading: Trading, price: Any) -> None:
    error = refusal(order(price=price), trading)
    assert (error.status, error.field) == (422, "price") and "tick 0.01" in error.message


def test_a_limit_order_needs_a_price(trading: Trading) -> None:
    for body in (order(price=...), order(price=None)):
        error = refusal(body, trading)
        assert (error.status, error.field) == (422, "price") and "limit" in error.message


def test_a_market_order_must_not_have_a_price(trading: Trading) -> None:
    error = refusal(order(type="market"), trading)
    assert (error.status, error.field, error.value) == (422, "price", "190.05")


@pytest.mark.parametrize("value", ["", "x" * 65, 12, ["a"]])
def test_client_order_id(trading: Trading, value: Any) -> None:
    error = refusal(order(client_order_id=value), trading)
    assert (error.status, error.field) == (422, "client_order_id")


def test_errors_render_as_json_bodies(trading: Trading) -> None:
    body = refusal(order(quantity=0), trading).body()
    assert body == {"error": {"field": "quantity", "value": 0,
                              "message": "must be a positive whole number"}}
