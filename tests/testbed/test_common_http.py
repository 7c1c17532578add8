"""The HTTP scaffold: SERVER spans joined to the caller's trace, RED metrics, JSON errors,
ops routes, and the traced client that injects `traceparent`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from testbed.config import ServiceConfig
from testbed.errors import ApiError
from testbed.service.app import ServiceContext, new_app
from testbed.service.client import TracedClient, Unreachable
from testbed.service.jsonio import json_response
from testbed.service.middleware import current_trace_id
from testbed.trading import Trading

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Harness:
    def __init__(self, trading: Trading) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("test")
        self.registry = CollectorRegistry()
        config = ServiceConfig(service="marketdata", instance="t-0", port=0, trading="/x.yaml")
        self.ctx = ServiceContext(config, trading, self.registry, self.tracer)
        self.app = new_app(self.ctx)
        self.app.router.add_get("/v1/things/{name}", self.thing)
        self.app.router.add_get("/v1/boom", self.boom)
        self.app.router.add_get("/v1/refuse", self.refuse)
        self.app.router.add_get("/v1/hop", self.hop)
        self.seen_headers: dict[str, str] = {}
        self.url = ""

    async def thing(self, request: web.Request) -> web.Response:
        self.seen_headers = dict(request.headers)
        return json_response({"name": request.match_info["name"],
                              "trace_id": current_trace_id()})

    async def boom(self, _: web.Request) -> web.Response:
        raise RuntimeError("kaput")

    async def refuse(self, _: web.Request) -> web.Response:
        raise ApiError(422, "no", field="x", value=1, rule="r", retryable=False)

    async def hop(self, _: web.Request) -> web.Response:
        client = TracedClient("self", self.tracer)
        try:
            reply = await client.request("GET", f"{self.url}/v1/things/b",
                                         route="/v1/things/{name}")
        finally:
            await client.close()
        return json_response(reply.body)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def run(self, scenario: Callable[[TracedClient], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            server = TestServer(self.app)
            await server.start_server()
            self.url = str(server.make_url("")).rstrip("/")
            client = TracedClient("test", self.tracer)
            try:
                return await scenario(client)
            finally:
                await client.close()
                await server.close()
        return asyncio.run(main())


def test_server_span_joins_the_incoming_trace(trading: Trading) -> None:
    h = Harness(trading)

    async def scenario(client: TracedClient) -> Any:
        session = client._open()
        async with session.get(f"{h.url}/v1/things/a", headers={"traceparent": TRACEPARENT}) as r:
            return r.status, await r.json()

    status, body = h.run(scenario)
    assert status == 200 and body["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    [span] = h.spans()
    assert span.name == "GET /v1/things/{name}" and span.kind == SpanKind.SERVER
    assert span.parent is not None and span.parent.span_id == 0xb7ad6b7169203331
    assert span.attributes["http.response.status_code"] == 200
    labels = {"route": "/v1/things/{name}", "method": "GET", "code": "200"}
    assert h.registry.get_sample_value("http_requests_total", labels) == 1
    assert h.registry.get_sample_value(
        "http_request_duration_seconds_count", {"route": "/v1/things/{name}", "method": "GET"}) == 1
    assert h.registry.get_sample_value("http_requests_in_flight") == 0


def test_client_span_injects_traceparent_into_one_trace(trading: Trading) -> None:
    h = Harness(trading)
    reply = h.run(lambda client: client.request("GET", f"{h.url}/v1/hop", route="/v1/hop"))
    assert reply.status == 200
    spans = {(s.name, s.kind): s for s in h.spans()}
    assert len({s.context.trace_id for s in h.spans()}) == 1 and len(h.spans()) == 4
    inner_server = spans[("GET /v1/things/{name}", SpanKind.SERVER)]
    inner_client = spans[("GET /v1/things/{name}", SpanKind.CLIENT)]
    assert inner_server.parent.span_id == inner_client.context.span_id  # type: ignore[union-attr]
    assert inner_client.attributes["peer.service"] == "self"
    assert h.seen_headers["traceparent"].split("-")[1] == format(
        inner_client.context.trace_id, "032x")
    assert reply.body["trace_id"] == format(inner_client.context.trace_id, "032x")


def test_unexpected_errors_are_json_500s(trading: Trading) -> None:
    h = Harness(trading)
    reply = h.run(lambda client: client.request("GET", f"{h.url}/v1/boom", route="/v1/boom"))
    assert reply.status == 500
    assert reply.body["error"]["message"] == "internal error (RuntimeError)"
    server = next(s for s in h.spans() if s.kind == SpanKind.SERVER)
    assert not server.status.is_ok and server.events[0].name == "exception"


def test_api_errors_and_unknown_routes_are_json(trading: Trading) -> None:
    h = Harness(trading)

    async def scenario(client: TracedClient) -> Any:
        refused = await client.request("GET", f"{h.url}/v1/refuse", route="/v1/refuse")
        missing = await client.request("GET", f"{h.url}/nowhere/1", route="/nowhere")
        wrong = await client.request("POST", f"{h.url}/v1/boom", route="/v1/boom")
        return refused, missing, wrong

    refused, missing, wrong = h.run(scenario)
    assert refused.status == 422 and refused.body == {
        "error": {"field": "x", "value": 1, "message": "no", "rule": "r"}, "retryable": False}
    assert missing.status == 404 and missing.body["error"]["field"] == "path"
    assert wrong.status == 405
    labels = {"route": "unmatched", "method": "GET", "code": "404"}
    assert h.registry.get_sample_value("http_requests_total", labels) == 1


def test_ops_routes_are_not_traced_nor_counted(trading: Trading) -> None:
    h = Harness(trading)
    reasons: list[str | None] = ["ledger: not connected yet"]
    h.ctx.readiness.add(lambda: reasons[0])

    async def scenario(client: TracedClient) -> Any:
        not_ready = await client.request("GET", f"{h.url}/readyz", route="/readyz")
        reasons[0] = None
        ready = await client.request("GET", f"{h.url}/readyz", route="/readyz")
        health = await client.request("GET", f"{h.url}/healthz", route="/healthz")
        metrics = await client.request("GET", f"{h.url}/metrics", route="/metrics")
        return not_ready, ready, health, metrics

    not_ready, ready, health, metrics = h.run(scenario)
    assert (not_ready.status, not_ready.body) == (
        503, {"ready": False, "reason": "ledger: not connected yet"})
    assert (ready.status, health.status, metrics.status) == (200, 200, 200)
    assert [s.kind for s in h.spans()] == [SpanKind.CLIENT] * 4
    assert h.registry.get_sample_value(
        "http_requests_total", {"route": "/readyz", "method": "GET", "code": "200"}) is None


def test_client_reports_unreachable_peers(trading: Trading) -> None:
    h = Harness(trading)

    async def scenario(client: TracedClient) -> Any:
        try:
            await client.request("GET", "http://127.0.0.1:9/x", route="/x", seconds=2)
        except Unreachable as exc:
            return exc
        return None

    assert isinstance(h.run(scenario), Unreachable)
    [span] = h.spans()
    assert span.kind == SpanKind.CLIENT and not span.status.is_ok
