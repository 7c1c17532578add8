"""The resilience score: 0 to 100, earned only by evidence in the store.

Vendors score what ran (Litmus: weight x probe success; Gremlin: pass/fail averages decaying
25% per 30 days). Ours scores what was *shown*. Each subject (a drill kind, or a chaos
experiment) counts once, by its latest finished run in the window, which earns one third for
each of:

- a verified revert: at least one fault was recorded for the run and every one of them ended
  `reverted` (the engine marks a fault reverted only on observed evidence);
- RTO measured and within its target (the drill's recorded target, else 300 s);
- RPO measured and within its target (the drill's recorded target, else 0 orders).

Unmeasured earns nothing: a run that measured no RTO scores no RTO third. That third then
decays with the run's age, by 25% per 30 days (Gremlin's rate, so the scores compare): a
subject rehearsed monthly keeps at least 75% of what it earned. The window is 365 days, the
regulators' yearly drill; at its edge a run keeps 3% (0.75^12.2), so leaving the window is no
cliff. The score is the mean over the subjects with a run in the window, times 100; with no
subject, 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DAY_S",
    "DECAY_PERIOD_S",
    "DECAY_PER_PERIOD",
    "WINDOW_S",
    "Evidence",
    "decay",
    "earned",
    "resilience_score",
]

DAY_S = 86_400.0
WINDOW_S = 365 * DAY_S
DECAY_PERIOD_S = 30 * DAY_S
DECAY_PER_PERIOD = 0.25
DEFAULT_RTO_TARGET_S = 300.0
DEFAULT_RPO_TARGET_ORDERS = 0.0


@dataclass(frozen=True, slots=True)
class Evidence:
    """One finished run of a subject, as the store recorded it."""

    subject: str                 # "drill:<kind>" or "chaos:<experiment>"
    ended_at: float
    faults: int                  # faults recorded for the run
    reverted: int                # of them, verified reverted
    rto_s: float | None = None
    rpo_orders: float | None = None
    rto_target_s: float = DEFAULT_RTO_TARGET_S
    rpo_target_orders: float = DEFAULT_RPO_TARGET_ORDERS


def earned(e: Evidence) -> float:
    """What the run earned before decay: a third per piece of evidence."""
    points = [e.faults > 0 and e.reverted == e.faults,
              e.rto_s is not None and e.rto_s <= e.rto_target_s,
              e.rpo_orders is not None and e.rpo_orders <= e.rpo_target_orders]
    return sum(points) / len(points)


def decay(age_s: float) -> float:
    """The share a run keeps at `age_s`: 0.75 per 30 days, 1 for a run dated ahead."""
    return (1 - DECAY_PER_PERIOD) ** (max(0.0, age_s) / DECAY_PERIOD_S)


def latest(items: Iterable[Evidence], now: float) -> dict[str, Evidence]:
    """Each subject's latest run inside the window."""
    found: dict[str, Evidence] = {}
    for e in items:
        if now - e.ended_at > WINDOW_S:
            continue
        held = found.get(e.subject)
        if held is None or e.ended_at > held.ended_at:
            found[e.subject] = e
    return found


def resilience_score(items: Iterable[Evidence], now: float) -> float:
    """0-100: the mean, over subjects, of their latest run's earned share after decay."""
    runs = latest(items, now).values()
    if not runs:
        return 0.0
    return 100 * sum(earned(e) * decay(now - e.ended_at) for e in runs) / len(runs)
