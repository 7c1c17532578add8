"""RTO and RPO arithmetic over recorded attempts (no processes)."""

from __future__ import annotations

import math

from controlplane.meter import Attempt, latency_summary, measure_rpo, measure_rto, percentile


def _stream(start: float, end: float, rate: float, outcome_at) -> list[Attempt]:
    """Attempts every 1/rate s from start to end, each answered 10 ms after intended."""
    out, n, t = [], 0, start
    while t < end:
        outcome = outcome_at(t)
        out.append(Attempt(n, t, t + 0.01, outcome, order_id=f"o{n}" if outcome == "ack" else ""))
        n += 1
        t = start + n / rate
    return out


def test_rto_is_the_gap_between_last_ack_before_and_first_after() -> None:
    # fault at 100.0; writes fail from 100.0 until 107.5
    attempts = _stream(90, 120, 10, lambda t: "error" if 100.0 <= t < 107.5 else "ack")
    rto = measure_rto(attempts, fault_at=100.0, rate=10)
    assert rto.recovered
    assert math.isclose(rto.last_ok_before, 99.91, abs_tol=1e-6)
    assert math.isclose(rto.first_ok_after, 107.51, abs_tol=1e-6)
    assert math.isclose(rto.rto_s, 7.6, abs_tol=1e-6)
    assert rto.failed_in_gap == 75
    assert rto.resolution_s == 0.1


def test_rto_counts_a_later_longer_gap_than_the_first() -> None:
    # a brief blip right after the fault, then the real outage
    def outcome(t: float) -> str:
        return "error" if 100.0 <= t < 100.3 or 102.0 <= t < 110.0 else "ack"
    rto = measure_rto(_stream(95, 115, 10, outcome), fault_at=100.0, rate=10)
    assert math.isclose(rto.rto_s, 8.1, abs_tol=1e-6)


def test_no_ack_after_fault_means_not_recovered() -> None:
    attempts = _stream(90, 110, 10, lambda t: "timeout" if t >= 100 else "ack")
    rto = measure_rto(attempts, fault_at=100.0, rate=10)
    assert not rto.recovered and rto.rto_s is None
    assert rto.failed_in_gap == 100


def test_rpo_counts_acknowledged_orders_missing_from_the_ledger() -> None:
    attempts = _stream(0, 10, 10, lambda t: "ack")
    acked = [a for a in attempts if a.ok]
    present = {a.order_id for a in acked} - {"o40", "o41", "o45"}
    rpo = measure_rpo(acked, present)
    assert rpo.acknowledged == 100
    assert rpo.lost == 3
    assert sorted(rpo.lost_order_ids) == ["o40", "o41", "o45"]
    assert math.isclose(rpo.lost_span_s, 0.5, abs_tol=1e-6)
    assert measure_rpo(acked, {a.order_id for a in acked}).lost == 0


def test_latency_is_measured_from_the_intended_send_time() -> None:
    # a stalled answer that arrives 2 s after it was due counts as 2 s, not as the time on wire
    late = Attempt(0, intended=10.0, done=12.0, outcome="ack", order_id="x")
    quick = [Attempt(i, 10.0 + i, 10.0 + i + 0.005, "ack", order_id=str(i)) for i in range(1, 99)]
    summary = latency_summary([late, *quick])
    assert summary.max_ms == 2000.0
    assert math.isclose(summary.p50_ms, 5.0, abs_tol=1e-6)


def test_percentile_nearest_rank() -> None:
    assert percentile([3, 1, 2, 4], 50) == 2
    assert percentile(list(range(1, 101)), 99) == 99
    assert math.isnan(percentile([], 50))
