"""Error budgets read from Prometheus: for each SLO, the bad share over its window, the budget
left (percent and minutes) and how fast it burns now, from the recording rules that
`controlplane policies render` writes (so these figures and the alerts agree)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from controlplane.observe.prometheus import PrometheusClient
from controlplane.slo.model import SloPolicy, duration_seconds

__all__ = ["Budget", "error_budgets"]


@dataclass(frozen=True)
class Budget:
    slo: str
    service: str
    objective: float
    window: str
    budget_minutes: float               # bad minutes the objective allows over the window
    error_ratio: float | None           # bad share over the window (None: no data yet)
    remaining_ratio: float | None       # 1 = untouched, 0 = spent, < 0 = overspent
    remaining_minutes: float | None
    burn_5m: float | None               # bad share over 5m / allowed bad share
    burn_1h: float | None

    @property
    def exhausted(self) -> bool:
        return self.remaining_ratio is not None and self.remaining_ratio <= 0


def _by_slo(prom: PrometheusClient, expr: str) -> dict[str, float]:
    out = {}
    for s in prom.query(expr):
        name = s.labels.get("slo")
        if name is not None and not math.isnan(s.value):
            out[name] = s.value
    return out


def error_budgets(prom: PrometheusClient, policy: SloPolicy) -> list[Budget]:
    window = policy.window
    ratio = _by_slo(prom, f"slo:sli_error:ratio_rate{window}")
    left = _by_slo(prom, "slo:error_budget_remaining:ratio")
    left_min = _by_slo(prom, "slo:error_budget_remaining:minutes")
    r5m = _by_slo(prom, "slo:sli_error:ratio_rate5m")
    r1h = _by_slo(prom, "slo:sli_error:ratio_rate1h")
    minutes = duration_seconds(window) / 60
    out = []
    for slo in policy.slos:
        allowed = slo.budget

        def burn(values: dict[str, float], name: str = slo.name,
                 allowed: float = allowed) -> float | None:
            return None if name not in values else values[name] / allowed
        out.append(Budget(slo.name, slo.service, slo.objective, window, minutes * allowed,
                          ratio.get(slo.name), left.get(slo.name), left_min.get(slo.name),
                          burn(r5m), burn(r1h)))
    return out
