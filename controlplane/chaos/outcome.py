"""What one experiment run produced: its timeline, its faults, and the verdict."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FaultEvidence", "RunOutcome", "outcome_from_summary", "verdict"]


@dataclass(frozen=True)
class FaultEvidence:
    id: int
    kind: str
    target: str
    instances: list[str]
    injected_at: float | None
    reverted_at: float | None
    state: str                      # reverted / injected (still open!) / failed
    revert_evidence: dict[str, Any] | None
    error: str | None


@dataclass
class RunOutcome:
    run_id: str
    experiment: str
    title: str
    tags: list[str]
    state: str = "running"          # passed / failed / aborted / skipped / refused (a
    # GameDay also records "interrupted": its control plane died during the run)
    reason: str = ""
    started_at: float = 0.0
    ended_at: float = 0.0
    events: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)
    faults: list[FaultEvidence] = field(default_factory=list)
    recovered_at: float | None = None
    rto_s: float | None = None
    rpo_orders: int | None = None
    acked: int = 0
    meter_attempts: list[Any] = field(default_factory=list, repr=False)
    journal: dict[str, Any] | None = field(default=None, repr=False)   # chaoslib's, if it ran

    def at(self, kind: str) -> float | None:
        return next((t for k, t, _ in self.events if k == kind), None)

    @property
    def first_injection(self) -> float | None:
        times = [f.injected_at for f in self.faults if f.injected_at]
        return min(times) if times else None

    @property
    def detection_s(self) -> float | None:
        start, seen = self.first_injection, self.at("deviation")
        return None if start is None or seen is None else seen - start

    @property
    def abort_latency_s(self) -> float | None:
        for kind, _, detail in self.events:
            if kind == "aborted_and_reverted":
                return float(detail["abort_latency_s"])
        return None

    @property
    def unreverted(self) -> list[FaultEvidence]:
        """Faults that took effect and are not verified undone (failed injections are not)."""
        return [f for f in self.faults
                if not (f.state == "reverted" or (f.state == "failed" and f.injected_at is None))]

    @property
    def all_reverted(self) -> bool:
        return not self.unreverted

    def summary(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, 3)
        start = self.first_injection
        return {
            "run_id": self.run_id, "experiment": self.experiment, "title": self.title,
            "tags": self.tags, "state": self.state, "reason": self.reason,
            "started_at": self.started_at, "ended_at": self.ended_at,
            "duration_s": num(self.ended_at - self.started_at if self.ended_at else None),
            "detection_s": num(self.detection_s), "abort_latency_s": num(self.abort_latency_s),
            "recovery_s": num(self.recovered_at - start if self.recovered_at and start
                              else None),
            "rto_s": num(self.rto_s), "rpo_orders": self.rpo_orders, "acked_orders": self.acked,
            "faults": [asdict(f) for f in self.faults],
            "all_faults_reverted": self.all_reverted,
            "events": [{"kind": k, "at": t, **d} for k, t, d in self.events],
        }


def outcome_from_summary(summary: dict[str, Any]) -> RunOutcome:
    """A run rebuilt from its `summary()` (as a GameDay keeps it in the store), for reports
    written by a later process: the timeline, the faults and the measures; no journal and no
    meter attempts, which the summary does not hold."""
    events = [(str(e["kind"]), float(e["at"]),
               {k: v for k, v in e.items() if k not in ("kind", "at")})
              for e in summary.get("events", [])]
    faults = [FaultEvidence(**f) for f in summary.get("faults", [])]
    start = min((f.injected_at for f in faults if f.injected_at), default=None)
    recovery = summary.get("recovery_s")
    return RunOutcome(
        str(summary.get("run_id", "-")), str(summary.get("experiment", "")),
        str(summary.get("title", "")), list(summary.get("tags", [])),
        str(summary.get("state", "failed")), str(summary.get("reason", "")),
        float(summary.get("started_at") or 0.0), float(summary.get("ended_at") or 0.0),
        events, faults, start + recovery if start is not None and recovery is not None
        else None, summary.get("rto_s"), summary.get("rpo_orders"),
        int(summary.get("acked_orders") or 0))


def verdict(out: RunOutcome, halted: bool, chaos_status: str, deviated: bool,
            steady_before: bool | None, activity_error: str | None) -> tuple[str, str]:
    """(state, reason) from what happened, most serious first."""
    unreverted = out.unreverted
    if halted:
        return "aborted", "halted by `controlplane chaos halt`"
    if steady_before is False:
        return "skipped", "the steady state did not hold before the method: " + (
            out.reason or "see the before-hypothesis")
    if unreverted:
        return "failed", "faults not verified reverted: " + ", ".join(
            f"#{f.id} {f.kind} ({f.error or f.state})" for f in unreverted)
    if out.at("hypothesis_error") is not None:
        detail = next(d for k, _, d in out.events if k == "hypothesis_error")
        after = ("the method was stopped and the faults reverted" if detail.get("phase") ==
                 "guard" else "the faults were reverted; recovery could not be judged")
        return "aborted", f"{detail.get('message')}; {after}"
    if out.at("deviation") is not None:
        detail = next(d for k, _, d in out.events if k == "deviation")
        return "failed", (f"steady state breached during the method: {detail.get('probe')} = "
                          f"{detail.get('value')}; the faults were reverted at once")
    if activity_error:
        return "failed", f"an activity failed: {activity_error}"
    if deviated:
        return "failed", "the steady state did not hold after the method"
    if out.rpo_orders:
        return "failed", f"{out.rpo_orders} acknowledged orders lost"
    if out.recovered_at is None:
        return "failed", "the steady state did not come back within the recovery timeout"
    if chaos_status not in ("completed",):
        return "failed", f"Chaos Toolkit ended with status {chaos_status}"
    return "passed", "steady state held; every fault verified injected and reverted"
