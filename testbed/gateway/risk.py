"""Pre-trade risk checks: pure functions; a refusal is a 422 naming the field, value and rule.

`last_price` is the last trade price from marketdata, or the reference price when marketdata
cannot be reached; market orders are valued at it.
"""

from __future__ import annotations

from decimal import Decimal

from testbed.errors import ApiError
from testbed.gateway.validation import OrderRequest
from testbed.trading import RiskLimits

__all__ = ["RULES", "check_account", "check_band", "check_notional", "check_order",
           "check_quantity", "price_band"]

RULES = ("account_pattern", "max_order_quantity", "max_order_notional", "price_band")


def _refuse(rule: str, field: str, value: object, message: str) -> ApiError:
    return ApiError(422, message, field=field, value=value, rule=rule)


def check_order(order: OrderRequest, limits: RiskLimits, last_price: Decimal) -> None:
    """Raise the first rule `order` breaks."""
    check_account(order.account, limits)
    check_quantity(order.quantity, limits)
    check_notional(order, limits, last_price)
    check_band(order, limits, last_price)


def check_account(account: str, limits: RiskLimits) -> None:
    if not limits.account_ok(account):
        raise _refuse("account_pattern", "account", account,
                      f"account must match {limits.account_pattern}")


def check_quantity(quantity: int, limits: RiskLimits) -> None:
    if quantity > limits.max_order_quantity:
        raise _refuse("max_order_quantity", "quantity", quantity,
                      f"quantity exceeds the maximum of {limits.max_order_quantity}")


def check_notional(order: OrderRequest, limits: RiskLimits, last_price: Decimal) -> None:
    price = order.price if order.price is not None else last_price
    notional = price * order.quantity
    if notional > limits.max_order_notional:
        field, value = ("price", str(order.price)) if order.price is not None \
            else ("quantity", order.quantity)
        raise _refuse("max_order_notional", field, value,
                      f"notional {notional} ({order.quantity} x {price}) exceeds the maximum "
                      f"of {limits.max_order_notional}")


def price_band(last_price: Decimal, limits: RiskLimits) -> tuple[Decimal, Decimal]:
    """The lowest and highest acceptable limit prices, inclusive."""
    width = last_price * limits.price_band_pct / 100
    return last_price - width, last_price + width


def check_band(order: OrderRequest, limits: RiskLimits, last_price: Decimal) -> None:
    if order.price is None:
        return
    low, high = price_band(last_price, limits)
    if not low <= order.price <= high:
        raise _refuse("price_band", "price", str(order.price),
                      f"price is outside the band {low}..{high} "
                      f"(±{limits.price_band_pct}% of the last price {last_price})")
