"""The order writer on a thread of its own, for callers that are not asyncio (the chaos
runner): start, do anything, stop, then read the attempts."""

from __future__ import annotations

import asyncio
import threading

from controlplane.meter.attempts import Attempt
from controlplane.meter.prices import current_prices
from controlplane.meter.writer import OrderWriter

__all__ = ["BackgroundMeter"]

MAX_SECONDS = 1800.0      # a forgotten meter still stops by itself


class BackgroundMeter:
    def __init__(self, gateway: str, rate: float, symbols: tuple[str, ...] = ("AAPL", "MSFT"),
                 max_seconds: float = MAX_SECONDS) -> None:
        self.gateway, self.rate, self.symbols = gateway, rate, symbols
        self.max_seconds = max_seconds
        self.writer: OrderWriter | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="rto-rpo-meter", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> BackgroundMeter:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _main(self) -> None:
        try:
            self._loop.run_until_complete(self._run())
        except BaseException as err:   # reported to the caller through .error
            self.error = err
        finally:
            self._ready.set()
            self._loop.close()

    async def _run(self) -> None:
        prices = await current_prices(self.gateway, self.symbols)
        self.writer = OrderWriter(self.gateway, self.rate, symbols=self.symbols, prices=prices)
        self._ready.set()
        await self.writer.run(self.max_seconds)

    def stop(self) -> list[Attempt]:
        if self.writer is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self.writer.stop)
        self._thread.join(30)
        return self.writer.attempts if self.writer else []
