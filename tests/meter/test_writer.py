"""The order writer against a real HTTP server that stalls and fails on purpose.

What this covers: the open-model schedule, outcome classification and the self-limiting stop.
It does not cover the trading cluster (see tests/cluster for the writer against the real one).
"""

from __future__ import annotations

import asyncio

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


STALL = range(50, 100)      # orders 50-99: from 0.5 s to 1.0 s into the schedule at 100/s


def test_open_model_keeps_sending_through_a_stall_and_measures_the_gap() -> None:
    """The server hangs every order of the stall until 0.3 s past its end, then fails it.
    The stall is chosen by the order's number, not by when it arrives: on a loaded machine an
    order intended just before the end may arrive after it, and that is not what is tested."""
    seq = iter(range(1, 10_000))

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        n = int(str(body["client_order_id"]).rsplit("-", 1)[1])
        if n in STALL:
            await asyncio.sleep((STALL.stop - n) / 100 + 0.3)
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
    stalled = [a for a in attempts if a.n in STALL]
    assert len(stalled) == len(STALL)
    assert all(a.outcome == "error" and a.status == 503 for a in stalled)
    assert all(a.latency >= 0.3 for a in stalled)       # the stall is in the latency
    assert all(a.ok for a in attempts if a.n not in STALL)
    fault_at = next(a.intended for a in attempts if a.n == STALL.start)
    rto = measure_rto(attempts, fault_at=fault_at, rate=100)
    # writes failed for 0.5 s of the schedule; the gap between acknowledgements is measured
    # on when they came back, so leave room for a loaded machine's late answers
    assert rto.recovered and 0.4 < rto.rto_s < 1.0, rto


def test_unreachable_gateway_is_an_error_not_a_crash() -> None:
    writer = OrderWriter("http://127.0.0.1:9", rate=50, timeout=1)
    attempts = asyncio.run(writer.run(duration=0.2))
    assert attempts and all(a.outcome == "error" for a in attempts)
    assert writer.acked() == []
