"""Instruments and risk limits: testbed/trading.yaml as typed models.

Prices are decimal strings in the file and on the public API, integer ticks everywhere else.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from testbed.files import load_yaml_model

__all__ = ["Instrument", "MarketdataSettings", "RiskLimits", "Trading", "load_trading"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Instrument(_Strict):
    reference_price: Decimal = Field(gt=0)
    tick: Decimal = Field(gt=0)

    @model_validator(mode="after")
    def _reference_on_tick(self) -> Instrument:
        if not self.is_on_tick(self.reference_price):
            raise ValueError(f"reference_price {self.reference_price} is not a multiple of "
                             f"the tick {self.tick}")
        return self

    def is_on_tick(self, price: Decimal) -> bool:
        return price % self.tick == 0

    def to_ticks(self, price: Decimal) -> int:
        """Whole ticks in `price`; raises ValueError when it is not a multiple of the tick."""
        if not self.is_on_tick(price):
            raise ValueError(f"{price} is not a multiple of the tick {self.tick}")
        return int(price / self.tick)

    def to_price(self, ticks: int) -> Decimal:
        return (self.tick * ticks).quantize(self.tick)

    def render(self, ticks: int | None) -> str | None:
        """A decimal string with the tick's number of decimals, or None."""
        return None if ticks is None else str(self.to_price(ticks))

    @property
    def reference_ticks(self) -> int:
        return self.to_ticks(self.reference_price)


class RiskLimits(_Strict):
    price_band_pct: Decimal = Field(gt=0, le=100)
    max_order_quantity: int = Field(gt=0)
    max_order_notional: Decimal = Field(gt=0)
    account_pattern: str

    @field_validator("account_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def account_ok(self, account: str) -> bool:
        return re.fullmatch(self.account_pattern, account) is not None


class MarketdataSettings(_Strict):
    stale_after_seconds: float = Field(gt=0)


class Trading(_Strict):
    symbols: dict[str, Instrument] = Field(min_length=1)
    risk: RiskLimits
    marketdata: MarketdataSettings

    def instrument(self, symbol: str) -> Instrument | None:
        return self.symbols.get(symbol)


def load_trading(path: str | Path) -> Trading:
    """Read and validate trading.yaml; raises `InvalidConfig` naming the file and field."""
    return load_yaml_model(path, Trading)
