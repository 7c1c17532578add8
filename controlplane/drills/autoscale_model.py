"""Settings and outcome of the matcher autoscaling drill.

"p99 back under 100 ms" holds over a whole window after the scale-out when both see it: the
SLO's own measure (policies/slos.yaml: the gateway's histogram, read from Prometheus, see
autoscale_slo.py) and the meter's p99, from each order's intended send time, of the orders
answered in that window (the gateway cannot see time spent before its handler runs).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from controlplane.drills.loop import LoopEvidence
from controlplane.drills.model import Timeline
from controlplane.meter import Attempt, RpoResult
from controlplane.meter.analysis import percentile

__all__ = ["AutoscaleOutcome", "AutoscaleSettings", "p99_ms"]


@dataclass(frozen=True)
class AutoscaleSettings:
    rate: float = 70.0                  # offered orders/s, open model: past one matcher
    symbols: tuple[str, ...] = ("AAPL", "AMZN", "MSFT", "NVDA")   # split evenly over 2 shards
    component: str = "matcher"
    alert: str = "MatcherSaturated"     # the closed loop: this alert ...
    runbook: str = "matcher-autoscaling"  # ... starting this runbook
    slo_p99_ms: float = 100.0
    # p99 is back under the SLO once a whole window of this many seconds after the scale-out
    # has 99% of the orders within it at the gateway (the SLO's own measure, exact at 100 ms)
    window_s: float = 6.0
    max_wait_s: float = 90.0            # give up when p99 is not back this long after the load
    timeout_s: float = 5.0              # the meter's per-order timeout

    def __post_init__(self) -> None:
        for name in ("rate", "slo_p99_ms", "window_s", "max_wait_s", "timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                raise ValueError(f"autoscale drill setting {name} must be a positive number "
                                 f"(got {value!r})")
        if not self.symbols:
            raise ValueError("autoscale drill setting symbols must name at least one symbol")

    def as_params(self) -> dict[str, object]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def p99_ms(attempts: list[Attempt]) -> float | None:
    """Client-observed p99 (from the intended send time) of the acknowledged orders."""
    ms = [a.latency * 1000 for a in attempts if a.ok]
    return None if not ms else percentile(ms, 99)


def _rel(at: float | None, origin: float) -> float | None:
    return None if at is None else round(at - origin, 3)


def _r(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(x, 3)


@dataclass(frozen=True)
class AutoscaleOutcome:
    settings: AutoscaleSettings
    load_started_at: float
    instances_before: int
    instances_after: int
    capacity_per_instance: float | None   # orders/s one matcher can take (the model)
    alerted_at: float | None              # the alert reached the control plane
    scale_out_at: float | None            # the runbook's scale-out step began
    new_instance: str | None
    instance_ready_at: float | None       # the new matcher answered /readyz (books loaded)
    switched_at: float | None             # every gateway routes by the new shard map
    p99_recovered_at: float | None        # start of the first window_s window under the SLO
    p99_before_ms: float | None           # gateway p99, load start to the scale-out
    p99_after_ms: float | None            # gateway p99 (interpolated) in that window
    sli_after: float | None               # share within the SLO threshold then: the verdict
    # the meter's p99 (from each order's intended send time) of the orders answered in the same
    # windows: by completion time, as the gateway's histogram counts them
    client_p99_before_ms: float | None
    client_p99_after_ms: float | None
    rpo: RpoResult
    double_fills: int                     # orders whose fills do not add up to their trades
    crossed_books: list[str]              # symbols whose open buys and sells cross
    outcomes: dict[str, int]
    loop: LoopEvidence
    timeline: Timeline
    attempts: list[Attempt] = field(default_factory=list, repr=False)   # not stored
    drill_id: int | None = None           # the store's record of this drill

    @property
    def p99_under_slo(self) -> bool:
        """p99 within the SLO after the scale-out: 99% or more of the orders answered within
        it at the gateway (exact: the threshold is a bucket boundary), and the meter's own p99
        of the orders answered in that window under it too."""
        return (self.sli_after is not None and self.sli_after >= 0.99
                and self.client_p99_after_ms is not None
                and self.client_p99_after_ms < self.settings.slo_p99_ms)

    @property
    def alert_to_ready_s(self) -> float | None:
        if self.alerted_at is None or self.instance_ready_at is None:
            return None
        return self.instance_ready_at - self.alerted_at

    def failures(self) -> list[str]:
        s, out = self.settings, []
        if self.alerted_at is None:
            out.append(f"alert {s.alert} never reached the control plane")
        if self.loop.run_state != "succeeded":
            out.append(f"runbook {s.runbook} did not succeed ({self.loop.run_state}: "
                       f"{self.loop.run_error or 'no run'})")
        if self.instances_after <= self.instances_before:
            out.append(f"{s.component} was not scaled out ({self.instances_before} -> "
                       f"{self.instances_after} instances)")
        if self.p99_recovered_at is None or not self.p99_under_slo:
            out.append(f"order p99 not back under {s.slo_p99_ms:g} ms after the scale-out "
                       f"({_r(self.sli_after)} of orders within it at the gateway, p99 about "
                       f"{_r(self.p99_after_ms)} ms; client p99 {_r(self.client_p99_after_ms)}"
                       " ms)")
        if self.rpo.lost:
            out.append(f"{self.rpo.lost} acknowledged orders lost")
        if self.double_fills:
            out.append(f"{self.double_fills} orders filled more than their trades say")
        if self.crossed_books:
            out.append(f"crossed books (two matchers matched one symbol): "
                       f"{', '.join(self.crossed_books)}")
        return out

    @property
    def passed(self) -> bool:
        return not self.failures()

    @property
    def state(self) -> str:
        return "passed" if self.passed else "failed"

    def result(self) -> dict[str, object]:
        """What the store keeps (JSON, no NaN); times are seconds after the load started."""
        t0 = self.load_started_at
        return {
            "verdict": "PASS" if self.passed else "FAIL", "failures": self.failures(),
            "load_started_at": t0, "rate": self.settings.rate,
            "capacity_per_instance": _r(self.capacity_per_instance),
            "instances_before": self.instances_before, "instances_after": self.instances_after,
            "alerted_s": _rel(self.alerted_at, t0), "scale_out_s": _rel(self.scale_out_at, t0),
            "new_instance": self.new_instance,
            "instance_ready_s": _rel(self.instance_ready_at, t0),
            "switched_s": _rel(self.switched_at, t0),
            "p99_recovered_s": _rel(self.p99_recovered_at, t0),
            "alert_to_ready_s": _r(self.alert_to_ready_s),
            "p99_before_ms": _r(self.p99_before_ms), "p99_after_ms": _r(self.p99_after_ms),
            "sli_after": _r(self.sli_after), "p99_under_slo": self.p99_under_slo,
            "client_p99_before_ms": _r(self.client_p99_before_ms),
            "client_p99_after_ms": _r(self.client_p99_after_ms),
            "slo_p99_ms": self.settings.slo_p99_ms,
            "rpo_orders": self.rpo.lost, "acked_total": self.rpo.acknowledged,
            "lost_order_ids": self.rpo.lost_order_ids, "double_fills": self.double_fills,
            "crossed_books": self.crossed_books,
            "outcomes": self.outcomes, "loop": self.loop.as_dict(t0),
        }
