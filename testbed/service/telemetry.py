"""The OpenTelemetry SDK, configured here and only from a service's entry point.

Every span of a service carries service.name and service.instance.id. When an OTLP endpoint
is configured, spans are batched (every 500 ms) and exported over HTTP on a background
thread; an unreachable collector costs a log line, never a failed request.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["setup_tracing", "shutdown_tracing"]

log = logging.getLogger(__name__)


def setup_tracing(service: str, instance: str, otlp_endpoint: str | None,
                  otlp_token: str | None = None) -> TracerProvider:
    """Install a global TracerProvider for this process and return it."""
    resource = Resource.create({"service.name": service, "service.instance.id": instance})
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    if otlp_endpoint:
        headers = {"Authorization": f"Bearer {otlp_token}"} if otlp_token else None
        exporter = OTLPSpanExporter(endpoint=otlp_endpoint, timeout=2, headers=headers)
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    return provider


def shutdown_tracing(provider: TracerProvider, timeout_millis: int = 2000) -> None:
    """Flush what is buffered (bounded by `timeout_millis`) and stop exporting."""
    try:
        provider.force_flush(timeout_millis=timeout_millis)
        provider.shutdown()
    except Exception:
        log.warning("could not flush spans at shutdown", exc_info=True)
