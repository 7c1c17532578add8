"""Capacity alerts for the matcher autoscaling runbooks: scale out in seconds, scale in slowly.

Both rest on the matcher's capacity model (testbed/matcher/capacity.py): the rate of
`matcher_engine_busy_seconds_total` is each instance's busy ratio.

- `MatcherSaturated` (scale out): the busiest matcher's engine is busy more than 80% of the
  last 5 s *and* the gateway's order p99 over 10 s is above the 100 ms SLO, for 2 s. Both:
  latency alone may come from the ledger (more matchers would not help), saturation alone
  may still meet the SLO. It fires about 6 to 10 s into an overload (the 5 s busy ratio
  crosses 80% after 4 s of full load, plus the 2 s `for`, scrape and evaluation).
- `MatcherUnderutilised` (scale in): with one matcher fewer, the engines' total work would
  keep them under 50% busy (so a scale-in does not saturate the rest and flap back), for
  2 minutes over a 1 minute rate: the stabilization window. With one matcher the projected
  ratio divides by zero, so it never asks to go below one instance; with no capacity model
  (engine cost 0) it never fires at all.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CAPACITY_ALERTS", "ORDER_P99_10S", "SATURATION_5S"]

SATURATION_5S = 'max(rate(matcher_engine_busy_seconds_total{job="matcher"}[5s]))'
ORDER_P99_10S = ('histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket'
                 '{job="gateway",route="/v1/orders",method="POST"}[10s])))')
_PROJECTED = ('sum(rate(matcher_engine_busy_seconds_total{job="matcher"}[1m])) / '
              '(count(matcher_engine_cost_seconds{job="matcher"} > 0) - 1)')

CAPACITY_ALERTS: list[dict[str, Any]] = [
    {"alert": "MatcherSaturated", "for": "2s",
     "expr": f"{SATURATION_5S} > 0.8 and on() {ORDER_P99_10S} > 0.1",
     "labels": {"severity": "critical", "service": "matcher"},
     "annotations": {"summary": "The matching engine is saturated and order p99 is above "
                                "100 ms: scale the matcher out"}},
    {"alert": "MatcherUnderutilised", "for": "2m",
     "expr": f"{_PROJECTED} < 0.5",
     "labels": {"severity": "info", "service": "matcher"},
     "annotations": {"summary": "One matcher fewer would still be under 50% busy: scale the "
                                "matcher in"}},
]
