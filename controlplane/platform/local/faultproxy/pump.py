"""One direction of one proxied connection: read, apply the link's fault, write.

With no fault on this direction and nothing held back, a chunk is written as soon as it is
read (no task hop, no timer). Otherwise chunks go through a bounded queue to a sender that
holds each one until its due time (arrival + latency +- jitter, in order) and paces it
under the bandwidth cap. Under a blackhole chunks are read and dropped, and an EOF waits
until the blackhole ends. The end of the stream (EOF) is passed on as a half-close.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Protocol

from controlplane.platform.local.faultproxy.shaping import (
    DelayLine,
    TokenBucket,
    delay_of,
    slice_size,
)
from controlplane.platform.local.faultproxy.spec import Direction, FaultSpec

__all__ = ["CHUNK", "FaultSource", "Pump"]

CHUNK = 64 * 1024
_QUEUED_CHUNKS = 64
_EOF = b""


class FaultSource(Protocol):
    def current(self) -> FaultSpec | None: ...

    async def changed(self) -> None: ...


class Pump:
    def __init__(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                 direction: Direction, faults: FaultSource, count: Callable[[int], None],
                 rng: random.Random) -> None:
        self._src, self._dst, self._direction = src, dst, direction
        self._faults, self._count, self._rng = faults, count, rng
        self._queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(_QUEUED_CHUNKS)
        self._held = 0   # chunks queued or being sent
        self._line = DelayLine()
        self._bucket: TokenBucket | None = None
        self._loop = asyncio.get_running_loop()

    async def run(self) -> None:
        """Until EOF has been passed on; raises OSError when either side fails."""
        async with asyncio.TaskGroup() as group:
            sender = group.create_task(self._send_loop())
            await self._read_loop()
            await sender

    async def _read_loop(self) -> None:
        while data := await self._src.read(CHUNK):
            spec = self._faults.current()
            if spec is not None and spec.blackhole:
                continue
            if self._held == 0 and (spec is None or not spec.shapes(self._direction)):
                await self._write(data)
            else:
                await self._hold(data, delay_of(spec, self._direction, self._rng))
        await self._hold(_EOF, 0.0)

    async def _hold(self, data: bytes, delay: float) -> None:
        self._held += 1
        await self._queue.put((self._line.due(self._loop.time(), delay), data))

    async def _send_loop(self) -> None:
        while True:
            due, data = await self._queue.get()
            wait = due - self._loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                return await self._end()
            spec = self._faults.current()
            if spec is None or not spec.blackhole:
                await self._paced(data, spec)
            self._held -= 1

    async def _paced(self, data: bytes, spec: FaultSpec | None) -> None:
        rate = None if spec is None else spec.rate_bytes(self._direction)
        if rate is None:
            return await self._write(data)
        if self._bucket is None or self._bucket.rate != rate:
            self._bucket = TokenBucket(rate, slice_size(rate), self._loop.time())
        step = slice_size(rate)
        for start in range(0, len(data), step):
            piece = data[start:start + step]
            wait = self._bucket.reserve(len(piece), self._loop.time())
            if wait > 0:
                await asyncio.sleep(wait)
            await self._write(piece)

    async def _write(self, data: bytes) -> None:
        self._dst.write(data)
        await self._dst.drain()
        self._count(len(data))

    async def _end(self) -> None:
        """Pass the EOF on once no blackhole holds the connection."""
        while (spec := self._faults.current()) is not None and spec.blackhole:
            await self._faults.changed()
        if self._dst.can_write_eof() and not self._dst.transport.is_closing():
            self._dst.write_eof()
