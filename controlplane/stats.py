"""The one percentile definition of the control plane: the nearest rank.

The q-th percentile of n values is the smallest value with at least q% of the values at or
below it: the value at rank ceil(q/100 * n) (1-based) of the sorted values, and the smallest
value for q = 0. It is always a value that was observed, never a blend of two, so a p99 of
100 ms means that at least 99% of the requests took 100 ms or less, which is how the SLOs read
("99% of orders within 100 ms"). HdrHistogram's value at a percentile, behind the load
figures, is a nearest-rank figure too (to its bucket resolution).

The span summaries (`observe.summary`, the telemetry API) and the RTO/RPO meter
(`meter.analysis`, the drill reports) both use `percentile` from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["percentile"]


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank q-th percentile (q in 0..100) of `values`, in any order; NaN for
    none. [1, 2, 3, 4] gives 2 at q=50 (not 2.5) and 4 at q=99."""
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, got {q}")
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
