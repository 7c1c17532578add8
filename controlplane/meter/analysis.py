"""RTO and RPO from what the writer saw. Pure functions over recorded attempts.

RTO is the client-observed gap in successful writes: from the last acknowledged write before the
outage to the first one after it (the longest gap between consecutive acknowledgements that ends
after the fault). RPO is the number of acknowledged orders the ledger does not have after
recovery, and the span of time they cover. Latency percentiles are nearest-rank
(`controlplane.stats.percentile`, re-exported here), as the span summaries' are.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from controlplane.meter.attempts import Attempt
from controlplane.stats import percentile

__all__ = [
    "LatencySummary",
    "RpoResult",
    "RtoResult",
    "latency_summary",
    "measure_rpo",
    "measure_rto",
    "outcome_counts",
    "percentile",
]


@dataclass(frozen=True)
class RtoResult:
    recovered: bool
    rto_s: float | None             # None when no write succeeded after the fault
    last_ok_before: float | None    # epoch s of the last ack before the gap
    first_ok_after: float | None    # epoch s of the first ack after the gap
    failed_in_gap: int              # attempts intended inside the gap that did not succeed
    resolution_s: float             # one schedule interval: the smallest gap the meter can see


@dataclass(frozen=True)
class RpoResult:
    acknowledged: int
    lost: int
    lost_span_s: float               # from the first to the last lost ack (0 for one or none)
    lost_order_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LatencySummary:
    count: int
    mean_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def measure_rto(attempts: list[Attempt], fault_at: float, rate: float) -> RtoResult:
    acks = sorted(a.done for a in attempts if a.ok)
    resolution = 1.0 / rate
    before = [t for t in acks if t <= fault_at]
    after = [t for t in acks if t > fault_at]
    if not after:
        return RtoResult(False, None, before[-1] if before else None, None,
                         sum(1 for a in attempts if a.intended >= fault_at and not a.ok),
                         resolution)
    prev = before[-1] if before else fault_at
    best = (after[0] - prev, prev, after[0])
    for a, b in zip(after, after[1:], strict=False):
        if b - a > best[0]:
            best = (b - a, a, b)
    gap, start, end = best
    failed = sum(1 for a in attempts if start <= a.intended < end and not a.ok)
    return RtoResult(True, gap, start, end, failed, resolution)


def measure_rpo(acked: list[Attempt], present: set[str]) -> RpoResult:
    lost = [a for a in acked if a.order_id not in present]
    span = (max(a.done for a in lost) - min(a.done for a in lost)) if len(lost) > 1 else 0.0
    return RpoResult(len(acked), len(lost), span, [a.order_id for a in lost][:20])


def latency_summary(attempts: list[Attempt]) -> LatencySummary:
    ms = [a.latency * 1000 for a in attempts if a.ok]
    if not ms:
        return LatencySummary(0, math.nan, math.nan, math.nan, math.nan)
    return LatencySummary(len(ms), sum(ms) / len(ms), percentile(ms, 50), percentile(ms, 99),
                          max(ms))


def outcome_counts(attempts: list[Attempt]) -> dict[str, int]:
    return dict(Counter(a.outcome for a in attempts))
