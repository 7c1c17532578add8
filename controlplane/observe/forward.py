"""Forward received OTLP bodies, as they came, to another OTLP/HTTP endpoint.

The receiver calls `submit`, which never blocks and never raises: bodies wait in a bounded
queue that one background task drains with aiohttp. A full queue, a failed send or a non-2xx
reply drops the body and counts it in `controlplane_otlp_forward_total{result}`. Use one
forwarder from one event loop: `start` and `submit` must run on the loop that sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import aiohttp
from prometheus_client import CollectorRegistry, Counter

from controlplane.errors import InvalidInput

__all__ = ["FORWARD_RESULTS", "OtlpForwarder"]

log = logging.getLogger(__name__)
FORWARD_RESULTS = ("sent", "rejected", "error", "dropped")


@dataclass(frozen=True, slots=True)
class _Body:
    data: bytes
    content_type: str
    content_encoding: str


class OtlpForwarder:
    def __init__(self, endpoint: str, registry: CollectorRegistry, queue_size: int = 1000,
                 timeout_s: float = 5.0, headers: dict[str, str] | None = None) -> None:
        if queue_size < 1:  # asyncio treats 0 as unbounded
            raise InvalidInput("must be at least 1", field="queue_size", value=queue_size)
        self.endpoint = endpoint
        self.headers = dict(headers or {})      # e.g. the target's Authorization
        self._queue: asyncio.Queue[_Body] = asyncio.Queue(maxsize=queue_size)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None
        self._results = Counter("controlplane_otlp_forward_total",
                                "OTLP bodies forwarded, by result.", ["result"],
                                registry=registry)
        for result in FORWARD_RESULTS:
            self._results.labels(result)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        self._worker = asyncio.create_task(self._run(), name="otlp-forwarder")

    async def close(self) -> None:
        """Stop sending; bodies still queued are discarded."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._session is not None:
            await self._session.close()

    def submit(self, data: bytes, content_type: str, content_encoding: str = "") -> None:
        try:
            self._queue.put_nowait(_Body(data, content_type, content_encoding))
        except asyncio.QueueFull:
            self._results.labels("dropped").inc()

    async def join(self) -> None:
        """Wait until every body submitted so far has been sent or dropped."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            body = await self._queue.get()
            try:
                result = await self._send(body)
            except Exception:  # one bad body must not stop forwarding
                log.exception("OTLP forward to %s failed", self.endpoint)
                result = "error"
            self._results.labels(result).inc()
            self._queue.task_done()

    async def _send(self, body: _Body) -> str:
        assert self._session is not None, "start() the forwarder first"
        headers = {**self.headers, "Content-Type": body.content_type}
        if body.content_encoding:
            headers["Content-Encoding"] = body.content_encoding
        try:
            async with self._session.post(self.endpoint, data=body.data,
                                          headers=headers) as reply:
                await reply.read()
                if 200 <= reply.status < 300:
                    return "sent"
                log.warning("OTLP forward to %s rejected: HTTP %d", self.endpoint, reply.status)
                return "rejected"
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            log.warning("OTLP forward to %s failed: %s", self.endpoint, err)
            return "error"
