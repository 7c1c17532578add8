"""Prices the meter can send: the gateway's last trade per symbol (inside the price band)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from controlplane.errors import PlatformError

__all__ = ["current_prices"]


async def current_prices(gateway: str, symbols: tuple[str, ...],
                         wait_s: float = 20.0) -> dict[str, str]:
    """The last price of each symbol. A retryable answer (503: the gateway cannot reach market
    data yet, as just after a restart) is retried until `wait_s`; then it is the error."""
    prices: dict[str, str] = {}
    deadline = time.monotonic() + wait_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        for sym in symbols:
            while sym not in prices:
                try:
                    async with session.get(f"{gateway}/v1/quotes/{sym}") as resp:
                        if resp.status == 200:
                            prices[sym] = str((await resp.json())["last_price"])
                            continue
                        problem = f"HTTP {resp.status}"
                        if resp.status != 503:
                            break
                except (TimeoutError, aiohttp.ClientError) as err:
                    problem = f"{type(err).__name__}: {err}"
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.5)
            if sym not in prices:
                raise PlatformError(f"gateway {gateway} has no quote for {sym} ({problem}); "
                                    "check `controlplane cluster status` for marketdata")
    return prices
