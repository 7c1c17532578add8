"""SpanStore: bounded memory, a consistent trace index, recent traces and summaries."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from controlplane.errors import InvalidInput
from controlplane.observe.records import SpanKind, SpanRecord
from controlplane.observe.spans import SpanStore

NOW = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def span(trace: int, span_id: int, parent: int = 0, *, kind: SpanKind = "server",
         service: str = "gateway", ms: float = 10.0, end: float = NOW, error: bool = False,
         name: str = "op", **attributes: str | float) -> SpanRecord:
    end_ns = int(end * 1e9)
    return SpanRecord(
        trace_id=f"{trace:032x}", span_id=f"{span_id:016x}",
        parent_span_id=f"{parent:016x}" if parent else "", name=name, kind=kind,
        service=service, instance=f"{service}-0", start_ns=end_ns - int(ms * 1e6),
        end_ns=end_ns, error=error,
        attributes={k.replace("_", "."): v for k, v in attributes.items()})


def make_store(max_spans: int = 100, clock: FakeClock | None = None
               ) -> tuple[SpanStore, CollectorRegistry]:
    registry = CollectorRegistry()
    return SpanStore(max_spans, clock or FakeClock(), registry), registry


def test_eviction_keeps_the_newest_spans_and_the_index_consistent() -> None:
    store, registry = make_store(max_spans=10)
    # 7 traces of 3 spans each, interleaved as concurrent requests arrive.
    batches = [[span(t, t * 10 + i) for t in range(1, 8)] for i in range(3)]
    for batch in batches:
        store.add(batch)
    assert len(store) == 10
    remaining = [s for batch in batches for s in batch][-10:]
    by_trace: dict[str, list[SpanRecord]] = {}
    for s in remaining:
        by_trace.setdefault(s.trace_id, []).append(s)
    for trace in range(1, 8):
        tid = f"{trace:032x}"
        assert store.trace(tid) == sorted(by_trace.get(tid, []), key=lambda s: s.start_ns)
    listed = store.recent_traces(limit=100)
    assert {t.trace_id for t in listed} == set(by_trace)
    assert sum(t.span_count for t in listed) == 10
    assert registry.get_sample_value("controlplane_spans_received_total") == 21
    assert registry.get_sample_value("controlplane_spans_evicted_total") == 11
    assert registry.get_sample_value("controlplane_spans_stored") == 10


def test_memory_stays_bounded_over_many_adds() -> None:
    store, registry = make_store(max_spans=50)
    for n in range(1, 5001):
        store.add([span(n % 97 + 1, n)])
        assert len(store) <= 50
    assert sum(t.span_count for t in store.recent_traces(limit=1000)) == 50
    assert len(store._traces) == len(store.recent_traces(limit=1000))
    assert registry.get_sample_value("controlplane_spans_evicted_total") == 4950


def test_recent_traces_newest_first_with_service_filter() -> None:
    store, _ = make_store()
    store.add([span(1, 1, name="GET /quotes", service="marketdata")])
    store.add([span(2, 2, name="POST /orders", ms=30),
               span(2, 3, parent=2, kind="client", service="gateway", ms=20),
               span(2, 4, parent=3, service="matcher", ms=15, error=True)])
    store.add([span(3, 5, name="GET /health")])
    recent = store.recent_traces(limit=2)
    assert [t.trace_id[-1] for t in recent] == ["3", "2"]
    order = recent[1]
    assert (order.root_name, order.root_service, order.span_count, order.errors) == (
        "POST /orders", "gateway", 3, 1)
    assert order.services == ("gateway", "matcher")
    assert order.duration_ms == pytest.approx(30.0)
    assert [t.trace_id[-1] for t in store.recent_traces(10, service="matcher")] == ["2"]
    store.add([span(1, 6, parent=1, service="marketdata")])  # trace 1 is updated: newest
    assert store.recent_traces(limit=1)[0].trace_id[-1] == "1"


def test_root_falls_back_to_the_earliest_span_when_the_root_is_missing() -> None:
    store, _ = make_store()
    store.add([span(9, 2, parent=1, name="late", end=NOW + 1),
               span(9, 3, parent=1, name="early", ms=5000, end=NOW)])
    assert store.recent_traces(1)[0].root_name == "early"


def test_summary_per_service_and_per_hop() -> None:
    store, _ = make_store(max_spans=1000)
    spans = []
    for i in range(1, 101):
        base = i * 10
        spans += [
            span(i, base + 1, service="gateway", ms=float(i)),
            span(i, base + 2, parent=base + 1, kind="client", service="gateway", ms=5.0),
            span(i, base + 3, parent=base + 2, service="matcher", ms=4.0, error=i <= 5),
            span(i, base + 4, parent=base + 3, kind="client", service="matcher", ms=2.0,
                 peer_service="ledger", db_system="postgresql"),
            span(i, base + 5, parent=base + 3, kind="client", service="matcher", ms=1.0),
        ]
    store.add(spans)
    summary = store.summary(window_s=300)
    gateway = summary.service("gateway")
    assert gateway is not None
    assert (gateway.count, gateway.errors, gateway.error_ratio) == (100, 0, 0.0)
    assert gateway.p50_ms == pytest.approx(50.0)       # nearest rank (controlplane.stats)
    assert gateway.p95_ms == pytest.approx(95.0)
    assert gateway.p99_ms == pytest.approx(99.0)
    matcher = summary.service("matcher")
    assert matcher is not None and (matcher.errors, matcher.error_ratio) == (5, 0.05)
    hop = summary.hop("gateway", "matcher")
    assert hop is not None and (hop.count, hop.errors, hop.p50_ms) == (100, 5, 5.0)
    ledger = summary.hop("matcher", "ledger")
    assert ledger is not None and (ledger.count, ledger.errors, ledger.p99_ms) == (100, 0, 2.0)
    # The anonymous client span (no server child, no peer.service) makes no hop.
    assert [(h.caller, h.callee) for h in summary.hops] == [
        ("gateway", "matcher"), ("matcher", "ledger")]


def test_summary_window_follows_the_clock() -> None:
    clock = FakeClock()
    store, _ = make_store(clock=clock)
    store.add([span(1, 1, end=NOW - 100), span(2, 2, end=NOW - 10)])
    assert store.summary(window_s=300).services[0].count == 2
    assert store.summary(window_s=60).services[0].count == 1
    clock.now += 1000
    assert store.summary(window_s=300).services == ()



def test_max_spans_must_be_positive() -> None:
    with pytest.raises(InvalidInput, match="max_spans"):
        make_store(max_spans=0)
