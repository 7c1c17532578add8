"""An in-memory store of recent spans, bounded by count, indexed by trace.

Not thread-safe: use one `SpanStore` from one thread (the server's event loop). Every method
runs to completion without awaiting, so asyncio handlers may share it freely.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from controlplane.errors import InvalidInput
from controlplane.observe.records import SpanRecord
from controlplane.observe.summary import Summary, summarize

__all__ = ["SpanStore", "TraceInfo"]


@dataclass(frozen=True, slots=True)
class TraceInfo:
    """One trace at a glance: its root span (or earliest span if the root is not here)."""

    trace_id: str
    root_name: str
    root_service: str
    start_ns: int
    duration_ms: float  # from the earliest start to the latest end of its spans
    span_count: int
    errors: int
    services: tuple[str, ...]


class SpanStore:
    """Keeps the newest `max_spans` spans; adding past the bound evicts the oldest (O(1))."""

    def __init__(self, max_spans: int, clock: Callable[[], float],
                 registry: CollectorRegistry) -> None:
        if max_spans < 1:
            raise InvalidInput("must be at least 1", field="max_spans", value=max_spans)
        self.max_spans = max_spans
        self._clock = clock
        self._spans: deque[SpanRecord] = deque()  # oldest first
        # Trace id -> its spans, oldest first; traces ordered by their latest arrival.
        self._traces: OrderedDict[str, deque[SpanRecord]] = OrderedDict()
        self._received = Counter("controlplane_spans_received_total",
                                 "Spans received by the OTLP receiver.", registry=registry)
        self._evicted = Counter("controlplane_spans_evicted_total",
                                "Spans dropped from memory to stay within max_spans.",
                                registry=registry)
        self._stored = Gauge("controlplane_spans_stored", "Spans held in memory.",
                             registry=registry)

    def __len__(self) -> int:
        return len(self._spans)

    def add(self, spans: Iterable[SpanRecord]) -> None:
        added = 0
        for span in spans:
            self._spans.append(span)
            trace = self._traces.get(span.trace_id)
            if trace is None:
                trace = self._traces[span.trace_id] = deque()
            else:
                self._traces.move_to_end(span.trace_id)
            trace.append(span)
            added += 1
        self._received.inc(added)
        self._evicted.inc(self._evict())
        self._stored.set(len(self._spans))

    def _evict(self) -> int:
        # The globally oldest span is also the oldest of its trace, so both ends stay O(1).
        evicted = 0
        while len(self._spans) > self.max_spans:
            oldest = self._spans.popleft()
            trace = self._traces[oldest.trace_id]
            trace.popleft()
            if not trace:
                del self._traces[oldest.trace_id]
            evicted += 1
        return evicted

    def trace(self, trace_id: str) -> list[SpanRecord]:
        """The spans of one trace by start time; empty if unknown or evicted."""
        return sorted(self._traces.get(trace_id, ()), key=lambda s: s.start_ns)

    def recent_traces(self, limit: int, service: str | None = None) -> list[TraceInfo]:
        """The `limit` most recently updated traces, optionally those touching `service`."""
        found: list[TraceInfo] = []
        for spans in reversed(self._traces.values()):
            if len(found) >= limit:
                break
            if service is None or any(s.service == service for s in spans):
                found.append(_trace_info(spans))
        return found

    def summary(self, window_s: float) -> Summary:
        """Statistics over spans that ended in the last `window_s` seconds of the clock."""
        cutoff_ns = int((self._clock() - window_s) * 1e9)
        return summarize((s for s in self._spans if s.end_ns >= cutoff_ns), window_s)


def _trace_info(spans: deque[SpanRecord]) -> TraceInfo:
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if not s.parent_span_id or s.parent_span_id not in ids]
    root = min(roots or spans, key=lambda s: (bool(s.parent_span_id), s.start_ns))
    start = min(s.start_ns for s in spans)
    end = max(s.end_ns for s in spans)
    return TraceInfo(
        trace_id=root.trace_id, root_name=root.name, root_service=root.service,
        start_ns=start, duration_ms=max(end - start, 0) / 1e6, span_count=len(spans),
        errors=sum(1 for s in spans if s.error),
        services=tuple(sorted({s.service for s in spans})))
