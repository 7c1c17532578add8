"""OtlpForwarder: delivers bodies as received, and counts what it cannot deliver."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry

from controlplane.observe.forward import OtlpForwarder

Received = list[tuple[bytes, str, str]]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def with_receiver(status: int,
                        test: Callable[[str, Received], Awaitable[None]]) -> Received:
    received: Received = []

    async def handle(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers["Content-Type"],
                         request.headers.get("Content-Encoding", "")))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/v1/traces", handle)
    runner = web.AppRunner(app, auto_decompress=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await test(f"http://127.0.0.1:{port}/v1/traces", received)
    finally:
        await runner.cleanup()
    return received


def results(registry: CollectorRegistry) -> dict[str, float | None]:
    return {r: registry.get_sample_value("controlplane_otlp_forward_total", {"result": r})
            for r in ("sent", "rejected", "error", "dropped")}


def test_bodies_are_forwarded_as_received() -> None:
    registry = CollectorRegistry()

    async def scenario(url: str, received: Received) -> None:
        forwarder = OtlpForwarder(url, registry)
        await forwarder.start()
        forwarder.submit(b"\x1f\x8b gzip bytes", "application/x-protobuf", "gzip")
        forwarder.submit(b"{}", "application/json")
        await forwarder.join()
        await forwarder.close()

    received = asyncio.run(with_receiver(200, scenario))
    assert received == [(b"\x1f\x8b gzip bytes", "application/x-protobuf", "gzip"),
                        (b"{}", "application/json", "")]
    assert results(registry) == {"sent": 2, "rejected": 0, "error": 0, "dropped": 0}


def test_rejections_are_counted() -> None:
    registry = CollectorRegistry()

    async def scenario(url: str, received: Received) -> None:
        forwarder = OtlpForwarder(url, registry)
        await forwarder.start()
        forwarder.submit(b"", "application/x-protobuf")
        await forwarder.join()
        await forwarder.close()

    asyncio.run(with_receiver(400, scenario))
    assert results(registry)["rejected"] == 1


def test_a_dead_target_is_counted_not_raised() -> None:
    registry = CollectorRegistry()

    async def scenario() -> None:
        forwarder = OtlpForwarder(f"http://127.0.0.1:{closed_port()}/v1/traces", registry)
        await forwarder.start()
        forwarder.submit(b"", "application/x-protobuf")
        forwarder.submit(b"", "application/x-protobuf")
        await forwarder.join()
        await forwarder.close()

    asyncio.run(scenario())
    assert results(registry) == {"sent": 0, "rejected": 0, "error": 2, "dropped": 0}


def test_a_full_queue_drops_and_counts() -> None:
    registry = CollectorRegistry()

    async def scenario(url: str, received: Received) -> None:
        forwarder = OtlpForwarder(url, registry, queue_size=2)
        await forwarder.start()
        for n in range(5):  # no await in between: the sender has not taken any yet
            forwarder.submit(str(n).encode(), "application/json")
        await forwarder.join()
        await forwarder.close()

    received = asyncio.run(with_receiver(200, scenario))
    assert [body for body, _, _ in received] == [b"0", b"1"]
    assert results(registry) == {"sent": 2, "rejected": 0, "error": 0, "dropped": 3}
