"""Settings, timeline and outcome of a drill, and the verdict against the targets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from controlplane.drills.loop import LoopEvidence
from controlplane.meter import Attempt, LatencySummary, RpoResult, RtoResult
from controlplane.topology import Targets

__all__ = ["Check", "DrillOutcome", "DrillPlan", "DrillSettings", "Timeline"]


@dataclass(frozen=True)
class DrillSettings:
    rate: float = 50.0                  # orders per second, open model
    warmup_s: float = 5.0               # steady traffic before the fault
    max_wait_s: float = 90.0            # give up if not recovered this long after the fault
    settle_s: float = 3.0               # keep writing after recovery
    symbols: tuple[str, ...] = ("AAPL", "MSFT")
    target: str | None = None           # the primary to kill; default: whichever it is
    rejoin: bool = True                 # restart the old primary as a standby afterwards
    rejoin_wait_s: float = 90.0
    hold_s: float = 0.0                 # ledger-hang: how long the primary stays frozen
    alert: str = "LedgerNoPrimary"      # the closed loop to look for: this alert ...
    runbook: str = "ledger-failover"    # ... starting this runbook
    loop_wait_s: float = 30.0           # how long to wait for their records after recovery

    def as_params(self) -> dict[str, object]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class DrillPlan:
    """What a drill found before it acts, for the record the use case writes: the record's
    kind, the instance or component it targets, and its parameters."""

    kind: str
    target: str
    params: dict[str, object]


@dataclass
class Timeline:
    events: list[tuple[str, float, str]] = field(default_factory=list)

    def add(self, kind: str, at: float, message: str) -> None:
        self.events.append((kind, at, message))

    def at(self, kind: str) -> float | None:
        return next((t for k, t, _ in self.events if k == kind), None)

    def sorted(self) -> list[tuple[str, float, str]]:
        return sorted(self.events, key=lambda e: e[1])


@dataclass(frozen=True)
class Check:
    name: str
    measured: float | None
    target: float
    unit: str

    @property
    def passed(self) -> bool:
        return self.measured is not None and self.measured <= self.target


def _since(at: float | None, origin: float) -> float | None:
    return None if at is None else at - origin


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(x, 3)


@dataclass(frozen=True)
class DrillOutcome:
    kind: str
    target: str
    new_primary: str | None
    fault_at: float
    detected_at: float | None
    promoted_at: float | None
    routed_at: float | None
    rto: RtoResult
    rpo: RpoResult
    latency: LatencySummary
    outcomes: dict[str, int]
    targets: Targets
    settings: DrillSettings
    timeline: Timeline
    rejoined_at: float | None = None
    loop: LoopEvidence | None = None    # alert received, runbook run, its first action
    attempts: list[Attempt] = field(default_factory=list, repr=False)   # not stored
    # a hang drill also checks every node directly and the gateways' journals
    node_missing: dict[str, int] | None = None
    journal_missing: int | None = None
    notes: list[str] = field(default_factory=list)
    drill_id: int | None = None         # the store's record of this drill

    @property
    def detection_s(self) -> float | None:
        return _since(self.detected_at, self.fault_at)

    @property
    def alerted_s(self) -> float | None:
        """Fault to the alert received by the control plane (the detection that acts)."""
        return None if self.loop is None else _since(self.loop.alerted_at, self.fault_at)

    @property
    def failover_s(self) -> float | None:
        """Fault to writes routed to the new primary (promotion alone serves no client)."""
        return _since(self.routed_at, self.fault_at)

    def checks(self) -> list[Check]:
        rpo = float(self.targets.rpo_orders)
        checks = [
            Check("failover", self.failover_s, self.targets.failover_seconds, "s"),
            Check("client-observed RTO", self.rto.rto_s, self.targets.rto_seconds, "s"),
            Check("RPO (lost acknowledged orders)", float(self.rpo.lost), rpo, "orders"),
        ]
        if self.node_missing is not None:
            worst = max(self.node_missing.values(), default=None)
            checks.append(Check("RPO on every ledger node (SQL)",
                                None if worst is None else float(worst), rpo, "orders"))
        if self.journal_missing is not None:
            checks.append(Check("RPO from the gateways' journals", float(self.journal_missing),
                                rpo, "orders"))
        return checks

    @property
    def passed(self) -> bool:
        return self.rto.recovered and all(c.passed for c in self.checks())

    @property
    def state(self) -> str:
        return "passed" if self.passed else "failed"

    def result(self) -> dict[str, object]:
        """What the store keeps (JSON, no NaN)."""
        return {
            "verdict": "PASS" if self.passed else "FAIL",
            "new_primary": self.new_primary,
            "fault_at": self.fault_at,
            "detection_s": _finite(self.detection_s),
            "promotion_s": _finite(_since(self.promoted_at, self.fault_at)),
            "failover_s": _finite(self.failover_s),
            "rto_s": _finite(self.rto.rto_s),
            "rto_resolution_s": self.rto.resolution_s,
            "failed_writes_in_gap": self.rto.failed_in_gap,
            "rpo_orders": self.rpo.lost,
            "rpo_span_s": self.rpo.lost_span_s,
            "lost_order_ids": self.rpo.lost_order_ids,
            "acked_total": self.rpo.acknowledged,
            "attempts": sum(self.outcomes.values()),
            "outcomes": self.outcomes,
            "errors": self.outcomes.get("error", 0) + self.outcomes.get("timeout", 0),
            "latency_ms_before_fault": {
                "mean": _finite(self.latency.mean_ms), "p50": _finite(self.latency.p50_ms),
                "p99": _finite(self.latency.p99_ms), "max": _finite(self.latency.max_ms)},
            "rejoin_s": _finite(_since(self.rejoined_at, self.fault_at)),
            "loop": None if self.loop is None else self.loop.as_dict(self.fault_at),
            "node_missing": self.node_missing,
            "journal_missing": self.journal_missing,
            "notes": self.notes,
            "checks": [{"name": c.name, "measured": _finite(c.measured), "target": c.target,
                        "unit": c.unit, "passed": c.passed} for c in self.checks()],
        }
