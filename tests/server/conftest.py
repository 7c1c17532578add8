"""A real control-plane server on a free port, run on its own event loop thread, so the
synchronous OpenTelemetry SDK exporter and urllib can talk to it from the test thread. It
accepts the test credentials of tests/support/credentials.py, and `request` sends them."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from controlplane.server import ServerSettings, create_app, make_runner
from controlplane.server.state import STATE, ServerState
from tests.support.credentials import bearer_for, with_test_credentials

T = TypeVar("T")
NOW = 1_700_000_000.0


def free_port() -> int:
    """A loopback port nothing listens on (bound to 0, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RunningServer:
    def __init__(self, app: web.Application, loop: asyncio.AbstractEventLoop, port: int,
                 registry: CollectorRegistry) -> None:
        self.app = app
        self.loop = loop
        self.url = f"http://127.0.0.1:{port}"
        self.registry = registry

    @property
    def state(self) -> ServerState:
        return self.app[STATE]

    def on_loop(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the server's loop, so it never races a request handler."""
        async def call() -> T:
            return fn()
        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout=30)

    def wait_forwarded(self) -> None:
        assert self.state.forwarder is not None
        asyncio.run_coroutine_threadsafe(self.state.forwarder.join(), self.loop).result(30)

    def request(self, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, *, auth: bool = True,
                method: str | None = None) -> tuple[int, dict[str, str], bytes]:
        """A GET, or a POST of `body` (or `method`); with `auth`, as a caller the route
        allows (see tests/support/credentials.py) unless `headers` carry their own
        Authorization."""
        method = method or ("POST" if body is not None else "GET")
        headers = dict(headers or {})
        if auth and "Authorization" not in headers:
            headers.update(bearer_for(method, path.split("?")[0]))
        req = urllib.request.Request(self.url + path, data=body, headers=headers,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as reply:
                return reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def get_json(self, path: str) -> tuple[int, Any]:
        status, _, body = self.request(path)
        return status, json.loads(body)

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.on_loop(lambda: self.registry.get_sample_value(name, labels or {}))


@contextmanager
def serving(settings: ServerSettings, clock: Callable[[], float] | None = None
            ) -> Iterator[RunningServer]:
    registry = CollectorRegistry()
    app = create_app(with_test_credentials(settings), registry, clock or FakeClock())
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-server", daemon=True)
    thread.start()
    runner = make_runner(app)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return int(runner.addresses[0][1])

    try:
        port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
        yield RunningServer(app, loop, port, registry)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serving(ServerSettings(port=0)) as running:
        yield running
