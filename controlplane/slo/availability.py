"""Availability per SLO over today (since 00:00 UTC), 7 days and 30 days, the error budget
left, and its burn-down, read from Prometheus with the same SLI expressions the recording
rules use (`rules.sli_expr`), so these figures agree with the alerts.

A figure Prometheus cannot give (no samples yet, a query refused, Prometheus unreachable) is
None, and the reason is kept in `problems`: the web UI shows "no data", never a made-up number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from controlplane.errors import PrometheusError
from controlplane.observe.prometheus import PrometheusClient
from controlplane.slo.model import SLO, SloPolicy, duration_seconds
from controlplane.slo.rules import sli_expr

__all__ = ["BURN_DOWN_STEP_S", "SloAvailability", "availability", "no_data", "today_window"]

BURN_DOWN_STEP_S = 6 * 3600          # one point every 6 h over the policy's window
MIN_TODAY_S = 60


@dataclass(frozen=True)
class SloAvailability:
    slo: str
    service: str
    objective: float
    window: str
    today: float | None                 # the good share since 00:00 UTC
    days_7: float | None
    days_30: float | None
    budget_minutes: float               # bad minutes the objective allows over the window
    budget_remaining_ratio: float | None
    budget_remaining_minutes: float | None
    burn_down: list[tuple[float, float]] = field(default_factory=list)  # (epoch, ratio left)
    problems: list[str] = field(default_factory=list)


def today_window(now: float) -> str:
    """The range selector from 00:00 UTC to `now` (at least a minute)."""
    return f"{max(MIN_TODAY_S, int(now % 86400))}s"


def availability(prom: PrometheusClient, policy: SloPolicy, now: float) -> list[SloAvailability]:
    return [_one(prom, slo, policy.window, now) for slo in policy.slos]


def _one(prom: PrometheusClient, slo: SLO, window: str, now: float) -> SloAvailability:
    problems: list[str] = []
    good = {w: _good(prom, slo, w, now, problems) for w in (today_window(now), "7d", "30d")}
    today, days_7, days_30 = good.values()
    policy_good = days_30 if window == "30d" else _good(prom, slo, window, now, problems)
    minutes = duration_seconds(window) / 60 * slo.budget
    left = None if policy_good is None else 1 - (1 - policy_good) / slo.budget
    return SloAvailability(slo.name, slo.service, slo.objective, window, today, days_7, days_30,
                           minutes, left, None if left is None else left * minutes,
                           _burn_down(prom, slo, window, now, problems), problems)


def _good(prom: PrometheusClient, slo: SLO, window: str, now: float,
          problems: list[str]) -> float | None:
    try:
        found = prom.query(sli_expr(slo, window), at=now)
    except PrometheusError as err:
        problems.append(f"{window}: {err}")
        return None
    values = [s.value for s in found if math.isfinite(s.value)]
    if not values:
        problems.append(f"{window}: no samples")
        return None
    return max(0.0, min(1.0, 1 - values[0]))


def _burn_down(prom: PrometheusClient, slo: SLO, window: str, now: float,
               problems: list[str]) -> list[tuple[float, float]]:
    """The budget left over the window, from the recording rule the alerts use."""
    expr = f'slo:error_budget_remaining:ratio{{slo="{slo.name}"}}'
    try:
        series = prom.query_range(expr, now - duration_seconds(window), now, BURN_DOWN_STEP_S)
    except PrometheusError as err:
        problems.append(f"burn-down: {err}")
        return []
    points = [(t, v) for s in series[:1] for t, v in s.points if math.isfinite(v)]
    if not points:
        problems.append("burn-down: no samples")
    return points


def no_data(policy: SloPolicy, reason: str) -> list[SloAvailability]:
    """Every SLO without figures, saying why (no Prometheus to ask)."""
    return [SloAvailability(s.name, s.service, s.objective, policy.window, None, None, None,
                            duration_seconds(policy.window) / 60 * s.budget, None, None, [],
                            [reason]) for s in policy.slos]
