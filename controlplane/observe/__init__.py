"""Observation of telemetry: OTLP traces received and summarised, Prometheus queried.

- `otlp`, `records`: decode OTLP/HTTP trace export bodies into `SpanRecord`s;
- `spans`, `summary`: a bounded in-memory `SpanStore` with per-service and per-hop summaries;
- `forward`: pass received OTLP bodies on to another collector;
- `prometheus`, `promdata`: a small synchronous Prometheus HTTP API client.

Names are loaded on first use, so that `from controlplane.observe import PrometheusClient`
does not import aiohttp and protobuf.
"""

from __future__ import annotations

from importlib import import_module

__all__ = [
    "HopStats",
    "OtlpForwarder",
    "PrometheusClient",
    "Sample",
    "Series",
    "ServiceStats",
    "SpanRecord",
    "SpanStore",
    "Summary",
    "Target",
    "TraceInfo",
    "UnsupportedEncoding",
    "decode_request",
]

_HOMES = {
    "HopStats": "summary", "ServiceStats": "summary", "Summary": "summary",
    "OtlpForwarder": "forward",
    "PrometheusClient": "prometheus", "Sample": "promdata", "Series": "promdata",
    "Target": "promdata",
    "SpanRecord": "records", "SpanStore": "spans", "TraceInfo": "spans",
    "UnsupportedEncoding": "otlp", "decode_request": "otlp",
}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
