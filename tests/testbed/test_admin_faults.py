"""Fault injection in a service (/admin/faults): injected errors and delays on /v1/ routes,
measured like real ones; ops and admin routes untouched; a bearer token; expiry on a fake
clock; marketdata's frozen updates. The real marketdata application on a test server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from testbed.config import ServiceConfig, load_service_config
from testbed.errors import InvalidConfig
from testbed.marketdata.app import build
from testbed.service.app import ServiceContext, new_app
from testbed.service.jsonio import json_response
from testbed.trading import Trading

TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def context(trading: Trading, service: str = "marketdata", token: str | None = TOKEN,
            clock: Clock | None = None) -> ServiceContext:
    config = ServiceConfig(service=service, instance=f"{service}-0", port=0,  # type: ignore[arg-type]
                           trading="/x.yaml", admin_token=token)
    return ServiceContext(config, trading, CollectorRegistry(),
                          TracerProvider().get_tracer("test"), clock=clock or Clock())


class Client:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session, self._url = session, url

    async def call(self, method: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None,
                   raw: str | None = None) -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else None if body is None else json.dumps(body)
        async with self._session.request(method, self._url + path, data=data,
                                         headers=headers) as response:
            text = await response.text()
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
            return response.status, parsed, dict(response.headers)

    async def fault(self, spec: dict[str, Any]) -> Any:
        status, body, _ = await self.call("PUT", "/admin/faults", spec, AUTH)
        assert status == 200, body
        return body


Scenario = Callable[[Client], Awaitable[Any]]


def serve(app: web.Application, scenario: Scenario) -> Any:
    async def main() -> Any:
        server = TestServer(app)
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session:
                return await scenario(Client(session, str(server.make_url("")).rstrip("/")))
        finally:
            await server.close()
    return asyncio.run(main())


def requests(ctx: ServiceContext, route: str, code: int, method: str = "GET") -> float:
    labels = {"route": route, "method": method, "code": str(code)}
    return ctx.registry.get_sample_value("http_requests_total", labels) or 0.0


def injected(ctx: ServiceContext, kind: str) -> float:
    return ctx.registry.get_sample_value("testbed_injected_faults_total", {"kind": kind}) or 0.0


def test_error_rate_1_fails_v1_routes_but_not_ops_or_admin(trading: Trading) -> None:
    ctx = context(trading)

    async def scenario(client: Client) -> None:
        view = await client.fault({"error_rate": 1.0, "error_status": 500, "ttl_s": 60})
        assert view["fault"]["error_rate"] == 1.0 and view["ttl_remaining_s"] == 60
        for _ in range(5):
            status, body, _ = await client.call("GET", "/v1/quotes")
            assert status == 500 and body["error"]["message"] == "injected fault"
            assert body["retryable"] is True
        for path in ("/metrics", "/healthz", "/readyz", "/admin/faults"):
            status, _, _ = await client.call("GET", path, headers=AUTH)
            assert status == 200, path

    serve(build(ctx), scenario)
    assert requests(ctx, "/v1/quotes", 500) == 5 and injected(ctx, "error") == 5
    assert requests(ctx, "/admin/faults", 200) == 0   # admin calls are not business traffic


def test_the_default_status_is_503_and_routes_are_prefixes(trading: Trading) -> None:
    ctx = context(trading)

    async def scenario(client: Client) -> list[int]:
        await client.fault({"error_rate": 1, "routes": ["/v1/quotes/AAPL"], "ttl_s": 60})
        statuses = [(await client.call("GET", path))[0]
                    for path in ("/v1/quotes/AAPL", "/v1/quotes/MSFT", "/v1/quotes")]
        await client.fault({"error_rate": 1, "routes": ["/"], "ttl_s": 60})
        statuses += [(await client.call("GET", path, headers=AUTH))[0]
                     for path in ("/v1/quotes", "/healthz", "/metrics", "/admin/faults")]
        return statuses

    assert serve(build(ctx), scenario) == [503, 200, 200, 503, 200, 200, 200]


def test_error_rate_half_lands_in_a_wide_binomial_band(trading: Trading) -> None:
    ctx = context(trading)

    async def scenario(client: Client) -> list[int]:
        await client.fault({"error_rate": 0.5, "ttl_s": 60})
        return [(await client.call("GET", "/v1/quotes/AAPL"))[0] for _ in range(400)]

    statuses = serve(build(ctx), scenario)
    assert set(statuses) == {200, 503}
    assert 140 <= statuses.count(503) <= 260   # mean 200, sd 10: +-6 sd
    assert requests(ctx, "/v1/quotes/{symbol}", 503) == statuses.count(503)


def test_delay_is_a_real_wait_before_the_handler(trading: Trading) -> None:
    ctx = context(trading)

    async def timed(client: Client, path: str) -> float:
        started = time.perf_counter()
        status, _, _ = await client.call("GET", path)
        assert status == 200
        return time.perf_counter() - started

    async def scenario(client: Client) -> tuple[list[float], float, float]:
        await client.fault({"delay_ms": 200, "delay_jitter_ms": 50, "ttl_s": 60})
        delayed = [await timed(client, "/v1/quotes") for _ in range(3)]
        return delayed, await timed(client, "/healthz"), await timed(client, "/metrics")

    delayed, healthz, metrics = serve(build(ctx), scenario)
    assert all(0.15 <= seconds < 1.0 for seconds in delayed), delayed
    assert healthz < 0.1 and metrics < 0.1 and injected(ctx, "delay") == 3
    duration = ctx.registry.get_sample_value("http_request_duration_seconds_sum",
                                             {"route": "/v1/quotes", "method": "GET"})
    assert duration is not None and duration >= 0.45


def test_a_fault_reverts_itself_after_its_ttl(trading: Trading) -> None:
    clock = Clock()
    ctx = context(trading, clock=clock)

    async def scenario(client: Client) -> None:
        await client.fault({"error_rate": 1, "ttl_s": 5})
        clock.now += 4.5
        assert (await client.call("GET", "/v1/quotes"))[0] == 503
        _, view, _ = await client.call("GET", "/admin/faults", headers=AUTH)
        assert view["ttl_remaining_s"] == 0.5
        clock.now += 0.5
        assert (await client.call("GET", "/v1/quotes"))[0] == 200
        _, view, _ = await client.call("GET", "/admin/faults", headers=AUTH)
        assert view == {"fault": None, "ttl_remaining_s": None, "supports": ["freeze_updates"]}

    serve(build(ctx), scenario)


def test_clearing_is_idempotent(trading: Trading) -> None:
    ctx = context(trading)

    async def scenario(client: Client) -> None:
        await client.fault({"error_rate": 1, "ttl_s": 60})
        assert (await client.call("DELETE", "/admin/faults", headers=AUTH))[:2] == (
            200, {"cleared": True})
        assert (await client.call("DELETE", "/admin/faults", headers=AUTH))[:2] == (
            200, {"cleared": False})
        assert (await client.call("GET", "/v1/quotes"))[0] == 200

    serve(build(ctx), scenario)


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN},
    {"Authorization": f"Basic {TOKEN}"},
])
def test_admin_needs_the_bearer_token(trading: Trading, headers: dict[str, str]) -> None:
    async def scenario(client: Client) -> list[tuple[int, Any, dict[str, str]]]:
        return [await client.call(method, "/admin/faults", {"error_rate": 1, "ttl_s": 5},
                                  headers=headers) for method in ("GET", "PUT", "DELETE")]

    for status, body, reply_headers in serve(build(context(trading)), scenario):
        assert status == 401 and body["error"]["field"] == "Authorization"
        assert reply_headers["WWW-Authenticate"].startswith("Bearer")


def test_admin_is_disabled_without_a_token(trading: Trading) -> None:
    ctx = context(trading, token=None)

    async def scenario(client: Client) -> list[tuple[int, Any, dict[str, str]]]:
        return [await client.call(method, "/admin/faults", {"error_rate": 1, "ttl_s": 5},
                                  headers=AUTH) for method in ("GET", "PUT", "DELETE")]

    for status, body, _ in serve(build(ctx), scenario):
        assert status == 404 and "set admin_token" in body["error"]["message"]
    assert ctx.faults.current() is None


@pytest.mark.parametrize("spec, field", [
    ({"error_rate": 1.5, "ttl_s": 5}, "error_rate"),
    ({"error_rate": -0.1, "ttl_s": 5}, "error_rate"),
    ({"error_rate": "half", "ttl_s": 5}, "error_rate"),
    ({"error_status": 404, "ttl_s": 5}, "error_status"),
    ({"error_status": 600, "ttl_s": 5}, "error_status"),
    ({"delay_ms": -1, "ttl_s": 5}, "delay_ms"),
    ({"delay_jitter_ms": -1, "ttl_s": 5}, "delay_jitter_ms"),
    ({"routes": ["v1/orders"], "ttl_s": 5}, "routes"),
    ({"routes": [], "ttl_s": 5}, "routes"),
    ({"routes": "/v1/", "ttl_s": 5}, "routes"),
    ({"error_rate": 1}, "ttl_s"),
    ({"error_rate": 1, "ttl_s": 0}, "ttl_s"),
    ({"error_rate": 1, "ttl_s": 3601}, "ttl_s"),
    ({"error_rate": 1, "ttl_s": 5, "colour": "red"}, "colour"),
    ({"freeze_updates": "yes", "ttl_s": 5}, "freeze_updates"),
    ([1], "body"),
])
def test_bad_specs_are_400_naming_the_field(trading: Trading, spec: Any, field: str) -> None:
    async def scenario(client: Client) -> tuple[int, Any, dict[str, str]]:
        return await client.call("PUT", "/admin/faults", spec, AUTH)

    status, body, _ = serve(build(context(trading)), scenario)
    assert status == 400 and body["error"]["field"] == field, body


def test_a_body_that_is_not_json_is_400(trading: Trading) -> None:
    async def scenario(client: Client) -> tuple[int, Any, dict[str, str]]:
        return await client.call("PUT", "/admin/faults", headers=AUTH, raw="{nope")

    status, body, _ = serve(build(context(trading)), scenario)
    assert status == 400 and body["error"]["field"] == "body"


def test_only_marketdata_freezes_updates(trading: Trading) -> None:
    app = new_app(context(trading, service="matcher"))

    async def ok(_: web.Request) -> web.Response:
        return json_response({"ok": True})

    app.router.add_get("/v1/things", ok)

    async def scenario(client: Client) -> tuple[int, Any, dict[str, str]]:
        return await client.call("PUT", "/admin/faults", {"freeze_updates": True, "ttl_s": 5},
                                 AUTH)

    status, body, _ = serve(app, scenario)
    assert status == 400 and body["error"]["field"] == "freeze_updates"


def test_frozen_marketdata_takes_updates_but_quotes_go_stale(trading: Trading) -> None:
    ctx = context(trading)

    async def post(client: Client, price: int) -> Any:
        status, body, _ = await client.call("POST", "/v1/updates",
                                            {"symbol": "AAPL", "last_price_ticks": price})
        assert status == 202
        return body

    async def quote(client: Client) -> Any:
        return (await client.call("GET", "/v1/quotes/AAPL"))[1]

    async def scenario(client: Client) -> None:
        assert (await post(client, 19001))["applied"] is True
        await client.fault({"freeze_updates": True, "ttl_s": 60})
        for price in range(19002, 19010):
            assert await post(client, price) == {"applied": False, "frozen": True}
            await asyncio.sleep(0.1)
        frozen = await quote(client)
        assert frozen["last_price"] == "190.01" and frozen["age_seconds"] >= 0.7
        await client.call("DELETE", "/admin/faults", headers=AUTH)
        assert (await post(client, 19010))["applied"] is True
        thawed = await quote(client)
        assert thawed["last_price"] == "190.10" and thawed["age_seconds"] < 0.5

    serve(build(ctx), scenario)
    assert injected(ctx, "freeze") == 8


def test_admin_token_in_the_config(tmp_path: Path) -> None:
    base = {"service": "marketdata", "instance": "marketdata-0", "port": 1,
            "trading": "/abs/trading.yaml"}
    path = tmp_path / "svc.json"
    path.write_text(json.dumps(base | {"admin_token": TOKEN}))
    config = load_service_config(path)
    assert config.admin_token == TOKEN and TOKEN not in repr(config)
    for bad, message in (("short", "at least 16"), ("has a space in it, so no", "printable")):
        path.write_text(json.dumps(base | {"admin_token": bad}))
        with pytest.raises(InvalidConfig, match=f"{path}: admin_token: .*{message}"):
            load_service_config(path)
