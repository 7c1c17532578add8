"""The RTO/RPO meter: a synthetic order writer plus the arithmetic of what it saw.

Reusable by drills, chaos experiments and runbooks: start an `OrderWriter`, inject the fault,
stop the writer, then `measure_rto` and `measure_rpo` (with `present_orders`).
"""

from controlplane.meter.analysis import (
                                         LatencySummary,
                                         RpoResult,
                                         RtoResult,
                                         latency_summary,
                                         measure_rpo,
                                         measure_rto,
                                         outcome_counts,
                                         percentile,
)
from controlplane.meter.attempts import Attempt
from controlplane.meter.ledger import present_orders
from controlplane.meter.prices import current_prices
from controlplane.meter.writer import OrderWriter

__all__ = ["Attempt", "LatencySummary", "OrderWriter", "RpoResult", "RtoResult",
           "current_prices", "latency_summary", "measure_rpo", "measure_rto", "outcome_counts",
           "percentile", "present_orders"]
