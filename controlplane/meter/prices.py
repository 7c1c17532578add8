"""Prices the meter can send: the gateway's last trade per symbol (inside the price band)."""

from __future__ import annotations

import aiohttp

from controlplane.errors import PlatformError

__all__ = ["current_prices"]


async def current_prices(gateway: str, symbols: tuple[str, ...]) -> dict[str, str]:
    prices = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        for sym in symbols:
            async with session.get(f"{gateway}/v1/quotes/{sym}") as resp:
                if resp.status != 200:
                    raise PlatformError(f"gateway has no quote for {sym} (HTTP {resp.status})")
                prices[sym] = str((await resp.json())["last_price"])
    return prices
