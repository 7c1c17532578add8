"""Decoding OTLP/HTTP bodies made by the real OpenTelemetry SDK, and malformed ones."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from controlplane.errors import InvalidInput
from controlplane.observe.otlp import (
    JSON,
    PROTOBUF,
    UnsupportedEncoding,
    decode_request,
    export_response,
    inflate,
)
from controlplane.observe.records import STATEMENT_MAX_CHARS

TRACE_ID = "5b8efff798038103d269b633813fc60c"
JSON_BODY = {
    "resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "gateway"}},
            {"key": "service.instance.id", "value": {"stringValue": "gateway-0"}}]},
        "scopeSpans": [{
            "scope": {"name": "manual"},
            "spans": [{
                "traceId": TRACE_ID, "spanId": "eee19b7ec3c1b174",
                "parentSpanId": "eee19b7ec3c1b173", "name": "POST /orders",
                "kind": 2, "startTimeUnixNano": "1544712660000000000",
                "endTimeUnixNano": "1544712661000000000",
                "attributes": [{"key": "http.route", "value": {"stringValue": "/orders"}},
                               {"key": "http.status_code", "value": {"intValue": "503"}},
                               {"key": "user.id", "value": {"stringValue": "dropped"}}],
                "status": {"code": 2, "message": "unavailable"},
            }],
        }],
    }],
}


def sdk_request_bytes() -> tuple[bytes, list[str]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(
        {"service.name": "matcher", "service.instance.id": "matcher-1"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    attributes = {"peer.service": "ledger", "db.system": "postgresql",
                  "db.statement": "INSERT INTO orders VALUES " + "(1, 2)," * 100,
                  "db.flag": True}
    with tracer.start_as_current_span("match", kind=SpanKind.SERVER) as root, \
            tracer.start_as_current_span("INSERT orders", kind=SpanKind.CLIENT,
                                         attributes=attributes) as child:
        child.set_status(Status(StatusCode.ERROR, "deadlock"))
    provider.shutdown()
    ids = [format(root.get_span_context().trace_id, "032x"),
           format(root.get_span_context().span_id, "016x"),
           format(child.get_span_context().span_id, "016x")]
    return encode_spans(exporter.get_finished_spans()).SerializeToString(), ids


def test_protobuf_from_the_sdk() -> None:
    body, (trace_id, root_id, child_id) = sdk_request_bytes()
    child, root = decode_request(body, PROTOBUF)
    assert (root.trace_id, root.span_id, root.parent_span_id) == (trace_id, root_id, "")
    assert (child.trace_id, child.span_id, child.parent_span_id) == (trace_id, child_id, root_id)
    assert (root.kind, child.kind, root.service, root.instance) == (
        "server", "client", "matcher", "matcher-1")
    assert (root.error, child.error) == (False, True)
    assert child.attributes["peer.service"] == "ledger"
    assert child.attributes["db.system"] == "postgresql"
    assert len(str(child.attributes["db.statement"])) == STATEMENT_MAX_CHARS + 3
    assert "db.flag" not in child.attributes
    assert root.end_ns >= root.start_ns and root.duration_ms >= 0


@pytest.mark.parametrize(("encoding", "compress"), [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("GZIP", gzip.compress)])
def test_compressed_bodies(encoding: str, compress) -> None:
    body, _ = sdk_request_bytes()
    assert len(decode_request(compress(body), PROTOBUF, encoding)) == 2


def test_json_with_hex_ids() -> None:
    (record,) = decode_request(json.dumps(JSON_BODY).encode(), f"{JSON}; charset=utf-8")
    assert (record.trace_id, record.span_id, record.parent_span_id) == (
        TRACE_ID, "eee19b7ec3c1b174", "eee19b7ec3c1b173")
    assert (record.service, record.instance, record.kind, record.error) == (
        "gateway", "gateway-0", "server", True)
    assert record.attributes == {"http.route": "/orders", "http.status_code": 503}
    assert record.duration_ms == 1000.0


def test_json_ids_in_base64_are_refused_by_name() -> None:
    document = json.loads(json.dumps(JSON_BODY))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "7uGbfsPBsXQ="
    with pytest.raises(InvalidInput, match=r"resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]"
                                           r"\.spanId: is not a hex string"):
        decode_request(json.dumps(document).encode(), JSON)


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "not valid JSON"),
    (b'{"resourceSpans": 7}', "not an OTLP JSON trace request"),
    (b'[1, 2]', "not an OTLP JSON trace request"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "abcd", "spanId": "'
     + b'eee19b7ec3c1b174"}]}]}]}', r"spans\[0\]\.trace_id: must be 16 bytes"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "' + b"0" * 32 +
     b'", "spanId": "eee19b7ec3c1b174"}]}]}]}', "not all zero"),
])
def test_malformed_json(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode_request(body, JSON)


def test_malformed_protobuf() -> None:
    with pytest.raises(InvalidInput, match="not an ExportTraceServiceRequest protobuf"):
        decode_request(b"\x0a\xff\xff\xff\x0f", PROTOBUF)


def test_one_bad_span_fails_the_whole_request() -> None:
    document = json.loads(json.dumps(JSON_BODY))
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans.append(dict(spans[0], spanId=""))
    with pytest.raises(InvalidInput, match=r"spans\[1\]\.span_id"):
        decode_request(json.dumps(document).encode(), JSON)


def test_content_type_and_encoding_are_checked() -> None:
    with pytest.raises(UnsupportedEncoding, match="Content-Type: unsupported content type"):
        decode_request(b"{}", "text/plain")
    with pytest.raises(UnsupportedEncoding, match="Content-Encoding"):
        decode_request(b"{}", JSON, "br")


def test_inflate_refuses_broken_truncated_and_oversized_bodies() -> None:
    with pytest.raises(InvalidInput, match="not valid gzip"):
        inflate(b"plainly not gzip", "gzip")
    with pytest.raises(InvalidInput, match="truncated"):
        inflate(gzip.compress(b"x" * 1000)[:-12], "gzip")
    with pytest.raises(InvalidInput, match="exceeds 1024 bytes"):
        inflate(gzip.compress(b"\0" * 10_000_000), "gzip", limit=1024)
    assert inflate(b"as is", "identity") == b"as is"


def test_empty_requests_are_valid() -> None:
    assert decode_request(b"", PROTOBUF) == []
    assert decode_request(b"{}", JSON) == []


def test_export_response_in_each_encoding() -> None:
    assert export_response("protobuf") == b""
    assert json.loads(export_response("json")) == {}
