"""An HTTP client for calls between services: a CLIENT span per call, W3C `traceparent`
injected into the request, a timeout on every call, and JSON replies.

Transport failures (refused, reset, timed out) raise `Unreachable`; any HTTP status is a
`Reply`. The aiohttp session is opened on first use; `close()` it at shutdown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from testbed.service.jsonio import dumps

__all__ = ["Reply", "TracedClient", "Unreachable"]


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # the parsed JSON, or None when the reply was not JSON


class Unreachable(Exception):
    """The peer could not be reached or did not answer in time."""


class TracedClient:
    def __init__(self, peer: str, tracer: Tracer, *, timeout: float = 2.0,
                 connect_timeout: float = 1.0, limit: int = 100,
                 limit_per_host: int = 0) -> None:
        self.peer = peer
        self._tracer = tracer
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        """The session, created on first use (inside the running event loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit,
                                               limit_per_host=self._limit_per_host),
                timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, url: str, *, route: str, body: Any = None,
                      params: dict[str, str] | None = None,
                      seconds: float | None = None) -> Reply:
        """`route` is the template ("/v1/orders/{order_id}") that names the span; `seconds`
        overrides the client's total timeout for this call."""
        attributes = {"peer.service": self.peer, "http.request.method": method,
                      "url.full": url, "http.route": route}
        with self._tracer.start_as_current_span(f"{method} {route}", kind=SpanKind.CLIENT,
                                                attributes=attributes) as span:
            headers = {"Content-Type": "application/json"}
            inject(headers)
            reply = await self._send(method, url, headers, body, params, seconds)
            span.set_attribute("http.response.status_code", reply.status)
            if reply.status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {reply.status}"))
            return reply

    async def send_untraced(self, method: str, url: str, body: Any = None,
                            seconds: float | None = None) -> Reply:
        """For housekeeping (heartbeats): no span, no trace context."""
        return await self._send(method, url, {"Content-Type": "application/json"}, body, None,
                                seconds)

    async def _send(self, method: str, url: str, headers: dict[str, str], body: Any,
                    params: dict[str, str] | None, seconds: float | None) -> Reply:
        data = None if body is None else dumps(body)
        limit = self._timeout if seconds is None else aiohttp.ClientTimeout(total=seconds)
        try:
            async with self._open().request(method, url, data=data, headers=headers,
                                              params=params, timeout=limit) as response:
                text = await response.text()
                return Reply(response.status, _parse_or_none(text))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Unreachable(f"{self.peer} at {url}: {type(exc).__name__}: {exc}") from exc


def _parse_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
