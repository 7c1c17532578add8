"""Validation of a new order's body: pure functions, each refusal naming the field and value.

A body that is not a JSON object is a 400; every field-level problem is a 422.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from testbed.errors import ApiError
from testbed.trading import Instrument, Trading

__all__ = ["ALLOWED_FIELDS", "MAX_PRICE", "REQUIRED_FIELDS", "OrderRequest", "parse_order",
           "parse_price"]

REQUIRED_FIELDS = ("account", "symbol", "side", "type", "quantity")
ALLOWED_FIELDS = (*REQUIRED_FIELDS, "price", "client_order_id")
MAX_PRICE = Decimal(1000000000)
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class OrderRequest:
    account: str
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["limit", "market"]
    quantity: int
    price: Decimal | None
    price_ticks: int | None
    client_order_id: str | None


def _invalid(field: str, value: Any, message: str) -> ApiError:
    return ApiError(422, message, field=field, value=value)


def parse_order(body: Any, trading: Trading) -> OrderRequest:
    fields = _fields(body)
    account = _text(fields, "account", 64)
    symbol = _text(fields, "symbol", 16)
    instrument = trading.instrument(symbol)
    if instrument is None:
        raise _invalid("symbol", symbol, f"unknown symbol; valid symbols: "
                                         f"{', '.join(sorted(trading.symbols))}")
    side = _choice(fields, "side", ("buy", "sell"))
    kind = _choice(fields, "type", ("limit", "market"))
    quantity = _quantity(fields["quantity"])
    price = _price_for(kind, fields.get("price"), instrument)
    return OrderRequest(account, symbol, side, kind, quantity, price,  # type: ignore[arg-type]
                        None if price is None else instrument.to_ticks(price),
                        _client_order_id(fields.get("client_order_id")))


def _fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", field="body", value=body)
    for name in body:
        if name not in ALLOWED_FIELDS:
            raise _invalid(name, body[name], f"unknown field; allowed: {', '.join(ALLOWED_FIELDS)}")
    for name in REQUIRED_FIELDS:
        if name not in body or body[name] is None:
            raise _invalid(name, None, "required")
    return body


def _text(fields: dict[str, Any], name: str, max_length: int) -> str:
    value = fields[name]
    if not isinstance(value, str) or not value:
        raise _invalid(name, value, "must be a non-empty string")
    if len(value) > max_length:
        raise _invalid(name, value, f"must be at most {max_length} characters")
    return value


def _choice(fields: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = fields[name]
    if value not in choices or not isinstance(value, str):
        raise _invalid(name, value, f"must be one of: {', '.join(choices)}")
    return value


def _quantity(value: Any) -> int:
    if type(value) is not int:
        raise _invalid("quantity", value, "must be a positive whole number (a JSON integer)")
    if value <= 0:
        raise _invalid("quantity", value, "must be a positive whole number")
    return value


def _price_for(kind: str, value: Any, instrument: Instrument) -> Decimal | None:
    if kind == "market":
        if value is not None:
            raise _invalid("price", value, "must not be given for a market order")
        return None
    if value is None:
        raise _invalid("price", None, "required for a limit order")
    price = parse_price(value)
    if not instrument.is_on_tick(price):
        raise _invalid("price", value, f"must be a multiple of the tick {instrument.tick}")
    return price


def parse_price(value: Any) -> Decimal:
    """A positive decimal from a JSON number or a string like "190.05"."""
    if not _is_decimal(value):
        raise _invalid("price", value, 'must be a positive decimal, like "190.05"')
    price = Decimal(value)
    if not price.is_finite() or price <= 0:
        raise _invalid("price", value, "must be a positive decimal")
    if price > MAX_PRICE:
        raise _invalid("price", value, f"must not exceed {MAX_PRICE}")
    return price


def _is_decimal(value: Any) -> bool:
    if isinstance(value, str):
        return _DECIMAL.fullmatch(value) is not None
    return isinstance(value, Decimal | int) and not isinstance(value, bool)


def _client_order_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise _invalid("client_order_id", value, "must be a string of 1 to 64 characters")
    return value
