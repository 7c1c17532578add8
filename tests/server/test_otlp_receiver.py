"""POST /v1/traces fed by the real OpenTelemetry SDK exporter, and by malformed bodies."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from controlplane.server import ServerSettings
from tests.support.credentials import bearer

from .conftest import FakeClock, RunningServer, free_port, serving

PROPAGATOR = TraceContextTextMapPropagator()
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


@contextmanager
def tracer(service: str, server: RunningServer,
           compression: Compression | None = None) -> Iterator[Tracer]:
    provider = TracerProvider(resource=Resource.create(
        {"service.name": service, "service.instance.id": f"{service}-0"}))
    exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", compression=compression,
                                timeout=10, headers=bearer("telemetry"))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("tests")
    finally:
        provider.shutdown()


def hex_ids(span) -> tuple[str, str]:
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def stored(server: RunningServer) -> int:
    return server.on_loop(lambda: len(server.state.spans))


def test_sdk_spans_arrive_with_ids_parents_and_services(server: RunningServer) -> None:
    with tracer("gateway", server) as gateway, \
            gateway.start_as_current_span("POST /orders", kind=SpanKind.SERVER) as root, \
            gateway.start_as_current_span("risk check") as child:
        pass
    trace_id, root_id = hex_ids(root)
    status, document = server.get_json(f"/api/v1/traces/{trace_id}")
    assert status == 200
    spans = {s["name"]: s for s in document["spans"]}
    assert spans["POST /orders"]["span_id"] == root_id
    assert spans["POST /orders"]["parent_span_id"] == ""
    assert spans["risk check"]["span_id"] == hex_ids(child)[1]
    assert spans["risk check"]["parent_span_id"] == root_id
    assert {s["service"] for s in spans.values()} == {"gateway"}
    assert {s["instance"] for s in spans.values()} == {"gateway-0"}
    assert (spans["POST /orders"]["kind"], spans["risk check"]["kind"]) == ("server", "internal")
    assert server.metric("controlplane_spans_received_total") == 2


@contextmanager
def remote_call(caller: Tracer, callee: Tracer, name: str, callee_name: str) -> Iterator[Span]:
    """A CLIENT span in the caller and the callee's SERVER span, linked by traceparent."""
    with caller.start_as_current_span(name, kind=SpanKind.CLIENT):
        headers: dict[str, str] = {}
        PROPAGATOR.inject(headers)
        with callee.start_as_current_span(callee_name, context=PROPAGATOR.extract(headers),
                                          kind=SpanKind.SERVER) as served:
            yield served


def test_a_three_service_trace_yields_hops() -> None:
    clock = FakeClock(time.time())  # the SDK stamps spans with the real time
    with serving(ServerSettings(port=0), clock) as server:
        with tracer("gateway", server) as gateway, tracer("matcher", server) as matcher, \
                tracer("marketdata", server) as marketdata:
            for n in range(3):
                with gateway.start_as_current_span("POST /orders", kind=SpanKind.SERVER), \
                        remote_call(gateway, matcher, "POST /match", "match") as matched:
                    if n == 0:
                        matched.set_status(Status(StatusCode.ERROR, "rejected"))
                    with remote_call(matcher, marketdata, "GET /quote", "quote"):
                        pass
                    with matcher.start_as_current_span(
                            "INSERT orders", kind=SpanKind.CLIENT,
                            attributes={"peer.service": "ledger", "db.system": "postgresql"}):
                        pass
        status, summary = server.get_json("/api/v1/telemetry/summary?window=300")
        assert status == 200
        hops = {(h["caller"], h["callee"]): h for h in summary["hops"]}
        assert set(hops) == {("gateway", "matcher"), ("matcher", "marketdata"),
                             ("matcher", "ledger")}
        assert hops["gateway", "matcher"]["count"] == 3
        assert hops["gateway", "matcher"]["errors"] == 1
        assert hops["matcher", "ledger"]["errors"] == 0
        services = {s["service"]: s for s in summary["services"]}
        assert set(services) == {"gateway", "matcher", "marketdata"}
        assert services["matcher"]["error_ratio"] == 1 / 3
        (trace,) = server.get_json("/api/v1/traces?service=marketdata&limit=1")[1]["traces"]
        assert (trace["root_name"], trace["root_service"], trace["span_count"]) == (
            "POST /orders", "gateway", 6)
        clock.now += 3600  # an hour later, nothing is in the window
        assert server.get_json("/api/v1/telemetry/summary")[1]["hops"] == []


def test_gzip_from_the_sdk_is_accepted(server: RunningServer) -> None:
    with tracer("gateway", server, Compression.Gzip) as gateway, \
            gateway.start_as_current_span("compressed") as span:
        pass
    status, document = server.get_json(f"/api/v1/traces/{hex_ids(span)[0]}")
    assert status == 200 and document["spans"][0]["name"] == "compressed"


def otlp_json(trace_id: str, span_ids: list[str]) -> dict[str, object]:
    spans = [{"traceId": trace_id, "spanId": span_id, "name": f"op {span_id}", "kind": 2,
              "startTimeUnixNano": "1700000000000000000",
              "endTimeUnixNano": "1700000000250000000"} for span_id in span_ids]
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "marketdata"}}]},
        "scopeSpans": [{"spans": spans}]}]}


def test_json_is_accepted_and_answered_in_json(server: RunningServer) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    body = json.dumps(otlp_json(trace_id, ["b7ad6b7169203331"])).encode()
    status, headers, reply = server.request("/v1/traces", body, JSON)
    assert (status, headers["Content-Type"].split(";")[0], json.loads(reply)) == (
        200, "application/json", {})
    span = server.get_json(f"/api/v1/traces/{trace_id.upper()}")[1]["spans"][0]
    assert (span["span_id"], span["service"], span["duration_ms"]) == (
        "b7ad6b7169203331", "marketdata", 250.0)
    gzipped = gzip.compress(json.dumps(otlp_json(trace_id, ["b7ad6b7169203332"])).encode())
    assert server.request("/v1/traces", gzipped, JSON | {"Content-Encoding": "gzip"})[0] == 200
    assert stored(server) == 2


def test_an_empty_request_is_accepted(server: RunningServer) -> None:
    assert server.request("/v1/traces", b"", PROTOBUF)[:3:2] == (200, b"")
    assert stored(server) == 0


def test_malformed_protobuf_is_a_400_status_and_stores_nothing(server: RunningServer) -> None:
    status, headers, reply = server.request("/v1/traces", b"\x0a\xff\xff\xff\x0f", PROTOBUF)
    assert (status, headers["Content-Type"]) == (400, "application/x-protobuf")
    error = status_pb2.Status.FromString(reply)
    assert error.code == 3 and "not an ExportTraceServiceRequest protobuf" in error.message
    assert stored(server) == 0


def test_malformed_json_is_a_400_and_nothing_is_half_stored(server: RunningServer) -> None:
    document = otlp_json("0af7651916cd43dd8448eb211c80319c",
                         ["b7ad6b7169203331", "b7ad6b7169203332", "not hex!"])
    for body in (json.dumps(document).encode(), b'{"resourceSpans": [', b"\xff\xfe"):
        status, _, reply = server.request("/v1/traces", body, JSON)
        assert status == 400, reply
        error = json.loads(reply)
        assert error["code"] == 3 and error["error"]["message"] == error["message"]
    assert "spans[2].spanId" in error_field(server, json.dumps(document).encode())
    assert stored(server) == 0


def error_field(server: RunningServer, body: bytes) -> str:
    return str(json.loads(server.request("/v1/traces", body, JSON)[2])["error"]["field"])


def test_unsupported_media_is_a_415(server: RunningServer) -> None:
    status, _, reply = server.request("/v1/traces", b"{}", {"Content-Type": "text/plain"})
    assert status == 415
    assert json.loads(reply)["error"]["field"] == "Content-Type"
    status, _, reply = server.request("/v1/traces", b"{}", JSON | {"Content-Encoding": "zz"})
    assert (status, json.loads(reply)["error"]["field"]) == (415, "Content-Encoding")
    status, _, reply = server.request("/v1/traces", b"", PROTOBUF | {"Content-Encoding": "zz"})
    assert status == 415 and "Content-Encoding" in status_pb2.Status.FromString(reply).message


def test_body_limits_hold_before_and_after_gzip() -> None:
    with serving(ServerSettings(port=0, max_body_bytes=4096)) as server:
        status, _, reply = server.request("/v1/traces", b"\0" * 8192, PROTOBUF)
        assert status == 413 and "error" in json.loads(reply)
        bomb = gzip.compress(b"\0" * 1_000_000)
        status, _, reply = server.request("/v1/traces", bomb,
                                          PROTOBUF | {"Content-Encoding": "gzip"})
        assert status == 400 and "exceeds 4096 bytes" in status_pb2.Status.FromString(
            reply).message


def test_forwarding_delivers_bodies_as_received() -> None:
    with serving(ServerSettings(port=0)) as downstream:
        settings = ServerSettings(port=0,
                                  forward_otlp_endpoint=f"{downstream.url}/v1/traces",
                                  forward_otlp_headers=bearer("telemetry"))
        with serving(settings) as upstream:
            with tracer("gateway", upstream, Compression.Gzip) as gateway, \
                    gateway.start_as_current_span("forwarded") as root, \
                    gateway.start_as_current_span("child"):
                pass
            upstream.wait_forwarded()
            sent = upstream.metric("controlplane_otlp_forward_total", {"result": "sent"})
        trace_id = hex_ids(root)[0]
        names = downstream.on_loop(lambda: [s.name for s in downstream.state.spans.trace(
            trace_id)])
    assert sorted(names) == ["child", "forwarded"]
    assert sent == 2


def test_a_dead_forward_target_is_counted_not_raised() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1/traces"
    with serving(ServerSettings(port=0, forward_otlp_endpoint=dead)) as server:
        with tracer("gateway", server) as gateway, \
                gateway.start_as_current_span("still received"):
            pass
        server.wait_forwarded()
        assert stored(server) == 1
        assert server.metric("controlplane_otlp_forward_total", {"result": "error"}) == 1
        assert server.metric("controlplane_otlp_forward_total", {"result": "sent"}) == 0
