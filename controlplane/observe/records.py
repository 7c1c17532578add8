"""Typed span records made from OTLP protobuf spans.

A `SpanRecord` keeps what the control plane reads (ids, kind, service, timing, error) and a
few attributes; everything else in the OTLP span is dropped on arrival.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from controlplane.errors import InvalidInput

__all__ = ["KEPT_ATTRIBUTES", "AttrValue", "SpanKind", "SpanRecord", "span_records"]

SpanKind = Literal["internal", "server", "client", "producer", "consumer"]
AttrValue = str | int | float

KEPT_ATTRIBUTES = ("peer.service", "http.route", "http.status_code",
                   "http.response.status_code", "db.system", "db.statement")
STATEMENT_MAX_CHARS = 200
UNKNOWN_SERVICE = "unknown_service"  # the OpenTelemetry default when service.name is unset

_KINDS: dict[int, SpanKind] = {
    Span.SPAN_KIND_UNSPECIFIED: "internal",  # the spec says to treat it as internal
    Span.SPAN_KIND_INTERNAL: "internal",
    Span.SPAN_KIND_SERVER: "server",
    Span.SPAN_KIND_CLIENT: "client",
    Span.SPAN_KIND_PRODUCER: "producer",
    Span.SPAN_KIND_CONSUMER: "consumer",
}


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One finished span; ids are lowercase hex, times are epoch nanoseconds."""

    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a root span
    name: str
    kind: SpanKind
    service: str
    instance: str
    start_ns: int
    end_ns: int
    error: bool
    attributes: Mapping[str, AttrValue] = field(default_factory=dict, hash=False)

    @property
    def duration_ms(self) -> float:
        return max(self.end_ns - self.start_ns, 0) / 1e6

    def as_json(self) -> dict[str, object]:
        return {
            "trace_id": self.trace_id, "span_id": self.span_id,
            "parent_span_id": self.parent_span_id, "name": self.name, "kind": self.kind,
            "service": self.service, "instance": self.instance, "start_ns": self.start_ns,
            "end_ns": self.end_ns, "duration_ms": self.duration_ms, "error": self.error,
            "attributes": dict(self.attributes),
        }


def span_records(request: ExportTraceServiceRequest) -> list[SpanRecord]:
    """Every span of the request; raises InvalidInput naming the first malformed field."""
    records: list[SpanRecord] = []
    for i, resource_spans in enumerate(request.resource_spans):
        resource = _attributes(resource_spans.resource.attributes, ("service.name",
                                                                    "service.instance.id"))
        service = str(resource.get("service.name") or UNKNOWN_SERVICE)
        instance = str(resource.get("service.instance.id") or "")
        for j, scope_spans in enumerate(resource_spans.scope_spans):
            for k, span in enumerate(scope_spans.spans):
                where = f"resource_spans[{i}].scope_spans[{j}].spans[{k}]"
                records.append(_record(span, service, instance, where))
    return records


def _record(span: Span, service: str, instance: str, where: str) -> SpanRecord:
    attributes = _attributes(span.attributes, KEPT_ATTRIBUTES)
    statement = attributes.get("db.statement")
    if isinstance(statement, str) and len(statement) > STATEMENT_MAX_CHARS:
        attributes["db.statement"] = statement[:STATEMENT_MAX_CHARS] + "..."
    return SpanRecord(
        trace_id=_hex_id(span.trace_id, 16, f"{where}.trace_id"),
        span_id=_hex_id(span.span_id, 8, f"{where}.span_id"),
        parent_span_id=_hex_id(span.parent_span_id, 8, f"{where}.parent_span_id", optional=True),
        name=span.name, kind=_KINDS.get(span.kind, "internal"), service=service,
        instance=instance, start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
        error=span.status.code == Status.STATUS_CODE_ERROR, attributes=attributes)


def _hex_id(raw: bytes, size: int, where: str, optional: bool = False) -> str:
    if optional and not raw:
        return ""
    if len(raw) != size or not any(raw):
        raise InvalidInput(f"must be {size} bytes and not all zero", field=where,
                           value=raw.hex(), fix="send ids as the OpenTelemetry SDK makes them")
    return raw.hex()


def _attributes(pairs: Iterable[KeyValue], keep: tuple[str, ...]) -> dict[str, AttrValue]:
    """The string and number attributes among `keep`; others are dropped."""
    kept: dict[str, AttrValue] = {}
    for pair in pairs:
        if pair.key not in keep:
            continue
        which = pair.value.WhichOneof("value")
        if which in ("string_value", "int_value", "double_value"):
            kept[pair.key] = getattr(pair.value, which)
    return kept
