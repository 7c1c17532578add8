"""The one percentile definition (nearest rank), against known values, and its callers: the
span summaries and the RTO/RPO meter give the same figure for the same latencies."""

from __future__ import annotations

import math

import pytest

from controlplane import stats
from controlplane.meter import analysis
from controlplane.meter.attempts import Attempt
from controlplane.observe import summary
from controlplane.observe.records import SpanRecord

ONE_TO_100 = [float(i) for i in range(1, 101)]


@pytest.mark.parametrize("values, q, expected", [
    ([1, 2, 3, 4], 50, 2),              # linear interpolation would give 2.5
    ([1, 2, 3, 4], 25, 1),
    ([1, 2, 3, 4], 75, 3),
    ([1, 2, 3, 4], 76, 4),              # rank ceil(3.04) = 4
    ([4, 3, 2, 1], 50, 2),              # any order
    ([1, 2, 3, 4], 100, 4),
    ([1, 2, 3, 4], 0, 1),
    ([7.5], 99, 7.5),
    (ONE_TO_100, 50, 50),
    (ONE_TO_100, 95, 95),
    (ONE_TO_100, 99, 99),
    (ONE_TO_100, 99.9, 100),
    ([10, 20, 30, 40, 50, 60, 70, 80, 90, 1000], 90, 90),   # never a blend with the outlier
    ([10, 20, 30, 40, 50, 60, 70, 80, 90, 1000], 91, 1000),
])
def test_nearest_rank_known_values(values: list[float], q: float, expected: float) -> None:
    assert stats.percentile(values, q) == expected


def test_no_values_is_nan_and_q_outside_0_to_100_is_refused() -> None:
    assert math.isnan(stats.percentile([], 99))
    with pytest.raises(ValueError, match="between 0 and 100"):
        stats.percentile([1.0], 101)


def test_both_callers_use_the_shared_function() -> None:
    assert summary.percentile is stats.percentile
    assert analysis.percentile is stats.percentile


def _server_span(i: int, ms: float) -> SpanRecord:
    return SpanRecord(trace_id=f"{i:032x}", span_id=f"{i:016x}", parent_span_id="", name="op",
                      kind="server", service="gateway", instance="gateway-0", start_ns=0,
                      end_ns=int(ms * 1e6), error=False, attributes={})


def test_the_span_summary_and_the_meter_agree_on_the_same_latencies() -> None:
    ms = [1.0, 2.0, 3.0, 4.0]
    spans = summary.summarize([_server_span(i, m) for i, m in enumerate(ms, 1)], 60).services[0]
    attempts = [Attempt(i, intended=10.0, done=10.0 + m / 1000, outcome="ack", order_id=str(i))
                for i, m in enumerate(ms)]
    meter = analysis.latency_summary(attempts)
    assert spans.p50_ms == pytest.approx(meter.p50_ms) == pytest.approx(2.0)
    assert spans.p99_ms == pytest.approx(meter.p99_ms) == pytest.approx(4.0)
