"""HdrHistogram recording: per-second rows, the window, worker deltas, failures, late data."""

from __future__ import annotations

from controlplane.load.histograms import Aggregator, DeltaRecorder, Sample


def sample(end: float, latency_s: float, service_s: float | None = None, ok: bool = True,
           trace: str = "t") -> Sample:
    service = latency_s if service_s is None else service_s
    return Sample(end=end, intended=end - latency_s, start=end - service, ok=ok, name="GET /x",
                  trace_id=trace, error="" if ok else "HTTP 503: down")


def test_latency_runs_from_the_intended_start_not_the_send() -> None:
    agg = Aggregator(clock=lambda: 100.0)
    for n in range(100):
        # sent 10 ms before the answer, but intended 2 s before: a stalled user catching up
        agg.record(sample(90.0 + n * 0.01, latency_s=2.0, service_s=0.010))
    totals = agg.totals()
    assert 1990 < totals["latency_ms"]["p99"] < 2010
    assert 9.9 < totals["service_ms"]["p99"] < 10.1


def test_seconds_settle_into_rows_and_the_window_slides() -> None:
    now = [100.0]
    agg = Aggregator(window_s=3, settle_s=1.5, clock=lambda: now[0])
    for sec in range(90, 100):
        for n in range(10):
            agg.record(sample(sec + n / 10, latency_s=0.001 * (sec - 89), ok=n != 0))
    rows = agg.settle()
    assert [r["t"] for r in rows] == list(range(90, 98))     # 98 and 99 may still change
    assert all(r["requests"] == 10 and r["failures"] == 1 for r in rows)
    window = agg.window()
    assert window["seconds"] == 3 and window["requests"] == 30   # 95..97
    assert 7.9 < window["latency_ms"]["max"] < 8.1
    assert [r["t"] for r in agg.settle(final=True)] == [98, 99]


def test_worker_deltas_merge_like_local_samples() -> None:
    worker, direct = DeltaRecorder(), Aggregator(clock=lambda: 0.0)
    merged = Aggregator(clock=lambda: 0.0)
    for n in range(50):
        s = sample(10.0 + n * 0.05, latency_s=0.001 * (n + 1), ok=n % 10 != 0, trace=f"{n:032x}")
        worker.record(s)
        direct.record(s)
        if n == 25:
            merged.merge(worker.take())
    merged.merge(worker.take())
    assert merged.totals() == direct.totals()
    assert [f["trace_id"] for f in merged.failures] == [f["trace_id"] for f in direct.failures]
    assert worker.take()["seconds"] == {}       # taking empties the recorder


def test_late_data_is_counted_in_its_row_and_the_totals() -> None:
    agg = Aggregator(settle_s=1.0, clock=lambda: 20.0)
    agg.record(sample(10.5, 0.002))
    agg.settle()
    late = DeltaRecorder()
    late.record(sample(10.7, 0.004, ok=False))
    agg.merge(late.take())
    assert agg.rows[0]["requests"] == 2 and agg.rows[0]["failures"] == 1
    assert agg.requests == 2 and agg.late_requests == 1


def test_pending_requests_enter_the_window_as_lower_bounds() -> None:
    agg = Aggregator(window_s=5, settle_s=0.0, clock=lambda: 50.0)
    for n in range(10):
        agg.record(sample(45.0 + n * 0.1, latency_s=0.005))
    agg.settle()
    assert agg.window()["latency_ms"]["p99"] < 10
    stalled = agg.window(pending_us=[3_000_000] * 5)
    assert stalled["pending"] == 5 and stalled["requests"] == 10
    assert stalled["latency_ms"]["p99"] > 2900


def test_failures_are_bounded_but_counted() -> None:
    agg = Aggregator(max_failures=3, clock=lambda: 0.0)
    for n in range(5):
        agg.record(sample(1.0 + n, 0.01, ok=False, trace=str(n)))
    assert len(agg.failures) == 3 and agg.failures_dropped == 2 and agg.failures_total == 5
