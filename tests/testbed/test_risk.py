"""Pre-trade risk rules: account pattern, size, notional and the price band."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from testbed.errors import ApiError
from testbed.gateway.risk import check_order, price_band
from testbed.gateway.validation import OrderRequest
from testbed.trading import Trading

LAST = Decimal("190.00")


def request(**changes: Any) -> OrderRequest:
    fields: dict[str, Any] = {"account": "alice", "symbol": "AAPL", "side": "buy",
                              "type": "limit", "quantity": 10, "price": Decimal("190.00"),
                              "price_ticks": 19000, "client_order_id": None}
    return OrderRequest(**(fields | changes))


def refused(order: OrderRequest, trading: Trading, last: Decimal = LAST) -> ApiError:
    with pytest.raises(ApiError) as caught:
        check_order(order, trading.risk, last)
    assert caught.value.status == 422
    return caught.value


def test_a_plain_order_passes(trading: Trading) -> None:
    check_order(request(), trading.risk, LAST)
    check_order(request(type="market", price=None, price_ticks=None), trading.risk, LAST)


@pytest.mark.parametrize("account", ["has space", "semi;colon", "x" * 33, "ünï"])
def test_account_pattern(trading: Trading, account: str) -> None:
    error = refused(request(account=account), trading)
    assert (error.rule, error.field, error.value) == ("account_pattern", "account", account)


@pytest.mark.parametrize("account", ["a", "A_b-9", "x" * 32])
def test_accounts_that_match(trading: Trading, account: str) -> None:
    check_order(request(account=account), trading.risk, LAST)


def test_max_order_quantity(trading: Trading) -> None:
    check_order(request(quantity=50_000, price=Decimal(190)), trading.risk, LAST)
    error = refused(request(quantity=100_001), trading)
    assert (error.rule, error.field, error.value) == ("max_order_quantity", "quantity", 100_001)


def test_max_notional_for_limit_orders_uses_the_limit_price(trading: Trading) -> None:
    check_order(request(quantity=50_000, price=Decimal("200.00")), trading.risk, LAST)
    error = refused(request(quantity=50_001, price=Decimal("200.00")), trading, Decimal(200))
    assert (error.rule, error.field) == ("max_order_notional", "price")
    assert "10000200.00" in error.message


def test_max_notional_for_market_orders_uses_the_last_price(trading: Trading) -> None:
    market = request(type="market", price=None, price_ticks=None, quantity=60_000)
    check_order(market, trading.risk, Decimal(100))
    error = refused(market, trading, Decimal(200))
    assert (error.rule, error.field, error.value) == ("max_order_notional", "quantity", 60_000)


def test_price_band_is_inclusive(trading: Trading) -> None:
    assert price_band(LAST, trading.risk) == (Decimal("171.00"), Decimal("209.00"))
    for price in ("171.00", "209.00", "190.00"):
        check_order(request(price=Decimal(price)), trading.risk, LAST)


@pytest.mark.parametrize("price", ["170.99", "209.01", "1.00", "500.00"])
def test_price_band_outside(trading: Trading, price: str) -> None:
    error = refused(request(price=Decimal(price)), trading)
    assert (error.rule, error.field, error.value) == ("price_band", "price", price)
    assert "171.00..209.00" in error.message


def test_price_band_follows_the_last_price(trading: Trading) -> None:
    check_order(request(price=Decimal("230.00")), trading.risk, Decimal("220.00"))
    refused(request(price=Decimal("190.00")), trading, Decimal("220.00"))


def test_market_orders_have_no_band(trading: Trading) -> None:
    check_order(request(type="market", price=None, price_ticks=None), trading.risk,
                Decimal(1000))


def test_risk_refusals_carry_the_rule_in_the_body(trading: Trading) -> None:
    body = refused(request(quantity=100_001), trading).body()
    assert body["error"]["rule"] == "max_order_quantity"
    assert set(body["error"]) == {"field", "value", "message", "rule"}
