"""The order writer against a real HTTP server that stalls and fails on purpose.

What this covers: the open-model schedule, outcome classification and the self-limiting stop.
It does not cover the trading cluster (see tests/cluster for the writer against the real one).
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from controlplane.meter import OrderWriter, measure_rto


async def _serve(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/v1/orders", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}"


def test_open_model_keeps_sending_through_a_stall_and_measures_the_gap() -> None:
    t0 = time.time()
    stall = (t0 + 0.5, t0 + 1.0)     # the server hangs for 0.5 s, then errors for 0.3 s
    seq = iter(range(1, 10_000))

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        now = time.time()
        if stall[0] <= now < stall[1]:
            await asyncio.sleep(stall[1] - now + 0.3)
            return web.json_response({"error": {"message": "ledger unavailable"}}, status=503)
        if body["quantity"] <= 0:
            return web.json_response({"error": {"field": "quantity"}}, status=400)
        return web.json_response({"order_id": f"id-{next(seq)}", "seq": 1}, status=201)

    async def main() -> OrderWriter:
        runner, url = await _serve(handler)
        try:
            writer = OrderWriter(url, rate=100, timeout=5)
            await writer.run(duration=2.0)
            return writer
        finally:
            await runner.cleanup()

    writer = asyncio.run(main())
    attempts = writer.attempts
    # stops by itself: 2 s at 100/s, every one of them sent on schedule despite the stall
    assert 195 <= len(attempts) <= 201
    intended = [a.intended for a in attempts]
    assert all(abs((b - a) - 0.01) < 1e-6 for a, b in zip(intended, intended[1:], strict=False))
    outcomes = {a.outcome for a in attempts}
    assert outcomes == {"ack", "error"}
    stalled = [a for a in attempts if stall[0] <= a.intended < stall[1] - 0.05]
    assert stalled and all(a.outcome == "error" and a.status == 503 for a in stalled)
    assert all(a.latency >= 0.25 for a in stalled)      # the stall is in the latency
    rto = measure_rto(attempts, fault_at=stall[0], rate=100)
    assert rto.recovered and 0.45 < rto.rto_s < 0.7    # writes failed from 0.5 s to 1.0 s


def test_unreachable_gateway_is_an_error_not_a_crash() -> None:
    writer = OrderWriter("http://127.0.0.1:9", rate=50, timeout=1)
    attempts = asyncio.run(writer.run(duration=0.2))
    assert attempts and all(a.outcome == "error" for a in attempts)
    assert writer.acked() == []
