"""Decode OTLP/HTTP trace export requests (protobuf or JSON, optionally gzip or deflate).

OTLP JSON differs from protobuf's generic JSON mapping in one place that matters: trace and
span ids are hex strings, not base64. `parse_request` rewrites them before parsing.
"""

from __future__ import annotations

import base64
import zlib
from typing import Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from controlplane import jsonbody
from controlplane.errors import InvalidInput, UnsupportedMediaType
from controlplane.observe.records import SpanRecord, span_records

__all__ = [
    "JSON",
    "MAX_DECODED_BYTES",
    "PROTOBUF",
    "OtlpEncoding",
    "UnsupportedEncoding",
    "body_encoding",
    "decode_request",
    "export_response",
    "inflate",
    "media_type",
    "parse_request",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
OtlpEncoding = Literal["protobuf", "json"]
MAX_DECODED_BYTES = 64 * 1024 * 1024
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_ID_KEYS = ("traceId", "spanId", "parentSpanId")


class UnsupportedEncoding(UnsupportedMediaType):
    """A content type or content encoding that OTLP/HTTP does not define (HTTP 415)."""


def body_encoding(content_type: str) -> OtlpEncoding:
    """`protobuf` or `json` from a Content-Type header value (parameters ignored)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == PROTOBUF:
        return "protobuf"
    if media == JSON:
        return "json"
    raise UnsupportedEncoding("unsupported content type", field="Content-Type",
                              value=content_type, fix=f"send {PROTOBUF} or {JSON}")


def media_type(encoding: OtlpEncoding) -> str:
    return PROTOBUF if encoding == "protobuf" else JSON


def inflate(body: bytes, content_encoding: str, limit: int = MAX_DECODED_BYTES) -> bytes:
    """The body without its Content-Encoding; refuses more than `limit` decoded bytes."""
    name = content_encoding.strip().lower()
    if name in ("", "identity"):
        return body
    if name not in _WBITS:
        raise UnsupportedEncoding("unsupported content encoding", field="Content-Encoding",
                                  value=content_encoding, fix="send gzip, deflate or no encoding")
    inflater = zlib.decompressobj(_WBITS[name])
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as err:
        raise InvalidInput(f"body is not valid {name}: {err}", field="body") from None
    if len(data) > limit:
        raise InvalidInput(f"decoded body exceeds {limit} bytes", field="body",
                           fix="send smaller batches")
    if not inflater.eof:
        raise InvalidInput(f"{name} body is truncated", field="body")
    return data


def parse_request(payload: bytes, encoding: OtlpEncoding) -> ExportTraceServiceRequest:
    """An uncompressed body as an ExportTraceServiceRequest; InvalidInput if malformed."""
    request = ExportTraceServiceRequest()
    if encoding == "protobuf":
        try:
            request.ParseFromString(payload)
        except DecodeError as err:
            raise InvalidInput(f"not an ExportTraceServiceRequest protobuf: {err}",
                               field="body") from None
        return request
    document = jsonbody.loads(payload)
    if not isinstance(document, dict):     # protobuf's ParseDict raises TypeError on null
        raise InvalidInput("not an OTLP JSON trace request: the body must be a JSON object "
                           "with resourceSpans", field="body", value=type(document).__name__)
    _hex_ids_to_base64(document)
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as err:
        raise InvalidInput(f"not an OTLP JSON trace request: {err}", field="body") from None
    return request


def decode_request(body: bytes, content_type: str, content_encoding: str = "",
                   limit: int = MAX_DECODED_BYTES) -> list[SpanRecord]:
    """All spans of one OTLP/HTTP export body, or InvalidInput: never a partial list."""
    encoding = body_encoding(content_type)
    return span_records(parse_request(inflate(body, content_encoding, limit), encoding))


def export_response(encoding: OtlpEncoding) -> bytes:
    """The success reply, an empty ExportTraceServiceResponse in the request's encoding."""
    response = ExportTraceServiceResponse()
    if encoding == "protobuf":
        return response.SerializeToString()
    return json_format.MessageToJson(response).encode()


def _hex_ids_to_base64(document: object) -> None:
    """Rewrite OTLP JSON hex ids in place as base64, which json_format expects for bytes."""
    for i, resource_spans in _items(document, "resourceSpans"):
        for j, scope_spans in _items(resource_spans, "scopeSpans"):
            for k, span in _items(scope_spans, "spans"):
                where = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                _rewrite_ids(span, where)
                for n, link in _items(span, "links"):
                    _rewrite_ids(link, f"{where}.links[{n}]")


def _items(parent: object, key: str) -> list[tuple[int, dict[str, object]]]:
    children = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(children, list):
        return []  # absent or the wrong shape: json_format reports the latter
    return [(i, child) for i, child in enumerate(children) if isinstance(child, dict)]


def _rewrite_ids(obj: dict[str, object], where: str) -> None:
    for key in _ID_KEYS:
        value = obj.get(key)
        if not isinstance(value, str):
            continue
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise InvalidInput("is not a hex string", field=f"{where}.{key}", value=value,
                               fix="OTLP JSON encodes ids as hex, not base64") from None
        obj[key] = base64.b64encode(raw).decode("ascii")
