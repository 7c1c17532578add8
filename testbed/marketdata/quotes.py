"""The latest quote per symbol, with its age measured on an injected clock.

Before any trade a symbol quotes its reference price, dated when the service started, so it
goes stale when no update arrives: that is intended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from testbed.trading import Trading

__all__ = ["QuoteState", "QuoteStore", "QuoteUpdate"]


class QuoteUpdate(BaseModel):
    """What a matcher pushes after each commit. Absent fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    last_price_ticks: StrictInt | None = Field(None, gt=0)
    last_quantity: StrictInt | None = Field(None, gt=0)
    bid_ticks: StrictInt | None = Field(None, gt=0)
    bid_size: StrictInt | None = Field(None, ge=0)
    ask_ticks: StrictInt | None = Field(None, gt=0)
    ask_size: StrictInt | None = Field(None, ge=0)
    ts: StrictFloat | StrictInt | None = None
    seq: StrictInt | None = None  # the matcher's ack seq; older updates are ignored


@dataclass
class QuoteState:
    last_price_ticks: int
    last_quantity: int | None
    bid_ticks: int | None
    bid_size: int | None
    ask_ticks: int | None
    ask_size: int | None
    updated_at: float
    seq: int | None = None


class QuoteStore:
    def __init__(self, trading: Trading, clock: Callable[[], float] = time.time) -> None:
        self._trading = trading
        self._clock = clock
        started = clock()
        self._states = {symbol: QuoteState(instrument.reference_ticks, None, None, None, None,
                                           None, started)
                        for symbol, instrument in trading.symbols.items()}

    def symbols(self) -> list[str]:
        return sorted(self._states)

    def apply(self, update: QuoteUpdate) -> bool:
        """Take `update` (KeyError for an unknown symbol); False when it is older than ours."""
        state = self._states[update.symbol]
        if update.seq is not None and state.seq is not None and update.seq <= state.seq:
            return False
        if update.last_price_ticks is not None:
            state.last_price_ticks = update.last_price_ticks
            state.last_quantity = update.last_quantity
        state.bid_ticks, state.bid_size = update.bid_ticks, update.bid_size
        state.ask_ticks, state.ask_size = update.ask_ticks, update.ask_size
        state.updated_at = self._clock()
        state.seq = update.seq if update.seq is not None else state.seq
        return True

    def age(self, symbol: str) -> float:
        return max(0.0, self._clock() - self._states[symbol].updated_at)

    def quote(self, symbol: str) -> dict[str, Any]:
        """The public quote: prices as decimal strings with the symbol's tick."""
        state, instrument = self._states[symbol], self._trading.symbols[symbol]
        age = self.age(symbol)
        return {
            "symbol": symbol,
            "last_price": instrument.render(state.last_price_ticks),
            "last_quantity": state.last_quantity,
            "bid": instrument.render(state.bid_ticks), "bid_size": state.bid_size,
            "ask": instrument.render(state.ask_ticks), "ask_size": state.ask_size,
            "updated_at": datetime.fromtimestamp(state.updated_at, UTC).isoformat(),
            "age_seconds": round(age, 3),
            "stale": age > self._trading.marketdata.stale_after_seconds,
        }
