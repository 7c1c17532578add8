"""The synthetic order writer: orders at a fixed rate (open model), every answer recorded.

An open model sends on schedule whether or not earlier orders have been answered, so a stalled
cluster shows up as failed or late writes, not as a writer that politely waits. Latency is
measured from the intended send time. The writer stops by itself after `duration` seconds or
`max_orders` orders, whichever comes first.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable

import aiohttp

from controlplane.meter.attempts import Attempt

__all__ = ["OrderWriter"]


class OrderWriter:
    def __init__(self, gateway_url: str, rate: float, *, symbols: tuple[str, ...] = ("AAPL",),
                 prices: dict[str, str] | None = None, account: str | None = None,
                 timeout: float = 5.0, max_in_flight: int = 512,
                 clock: Callable[[], float] = time.time) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.url = gateway_url.rstrip("/") + "/v1/orders"
        self.rate = rate
        self.symbols = symbols
        self.prices = prices or {}
        self.run_id = uuid.uuid4().hex[:10]
        self.account = account or f"meter-{self.run_id}"
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self.clock = clock
        self.attempts: list[Attempt] = []
        self._stop = asyncio.Event()
        self._in_flight = 0

    def stop(self) -> None:
        self._stop.set()

    def acked(self) -> list[Attempt]:
        return [a for a in self.attempts if a.ok]

    async def run(self, duration: float, max_orders: int | None = None) -> list[Attempt]:
        limit = max_orders if max_orders is not None else int(duration * self.rate) + 1
        conn = aiohttp.TCPConnector(limit=self.max_in_flight)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
            tasks: set[asyncio.Task] = set()
            start = self.clock()
            for n in itertools.islice(itertools.count(), limit):
                intended = start + n / self.rate
                if intended - start > duration or await self._wait_until(intended):
                    break
                if self._in_flight >= self.max_in_flight:
                    self.attempts.append(Attempt(n, intended, self.clock(), "skipped"))
                    continue
                task = asyncio.create_task(self._send(session, n, intended))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(tasks)
        self.attempts.sort(key=lambda a: a.n)
        return self.attempts

    async def _wait_until(self, when: float) -> bool:
        """Sleep until `when`; True if stop() was called meanwhile."""
        delay = when - self.clock()
        if delay > 0:
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except TimeoutError:
                pass
        return self._stop.is_set()

    def _order(self, n: int) -> dict[str, object]:
        symbol = self.symbols[n % len(self.symbols)]
        body: dict[str, object] = {
            "account": self.account, "symbol": symbol,
            "side": "buy" if (n // len(self.symbols)) % 2 == 0 else "sell",
            "type": "limit", "quantity": 1, "client_order_id": f"{self.run_id}-{n}",
        }
        body["price"] = self.prices.get(symbol, "100.00")
        return body

    async def _send(self, session: aiohttp.ClientSession, n: int, intended: float) -> None:
        body = self._order(n)
        cid = str(body["client_order_id"])
        self._in_flight += 1
        try:
            async with session.post(self.url, json=body) as resp:
                data = await resp.json(content_type=None)
                self.attempts.append(_from_response(n, intended, self.clock(), resp.status,
                                                    data, cid))
        except TimeoutError:
            self.attempts.append(Attempt(n, intended, self.clock(), "timeout",
                                         client_order_id=cid, detail="no answer in time"))
        except (aiohttp.ClientError, OSError, ValueError) as err:
            self.attempts.append(Attempt(n, intended, self.clock(), "error",
                                         client_order_id=cid, detail=type(err).__name__))
        finally:
            self._in_flight -= 1


def _from_response(n: int, intended: float, done: float, status: int, data: object,
                   cid: str) -> Attempt:
    if 200 <= status < 300 and isinstance(data, dict) and data.get("order_id"):
        return Attempt(n, intended, done, "ack", status, cid, str(data["order_id"]),
                       int(data.get("seq") or 0))
    detail = ""
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        detail = str(data["error"].get("message", ""))[:200]
    outcome = "rejected" if 400 <= status < 500 else "error"
    return Attempt(n, intended, done, outcome, status, cid, detail=detail)
