"""A picture of one drill: every write the meter attempted, over time, around the fault."""

from __future__ import annotations

from pathlib import Path

from controlplane.drills.model import DrillOutcome
from controlplane.meter import Attempt

__all__ = ["plot_drill"]

COLORS = {"ack": "tab:green", "rejected": "tab:orange", "error": "tab:red",
          "timeout": "tab:purple", "skipped": "tab:gray"}
MARKS = ("fault_injected", "detected", "routed", "recovered", "rejoined")


def plot_drill(outcome: DrillOutcome, attempts: list[Attempt], path: Path,
               title: str = "") -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    origin = outcome.fault_at
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for outcome_kind, color in COLORS.items():
        points = [a for a in attempts if a.outcome == outcome_kind]
        if points:
            ax.scatter([a.intended - origin for a in points],
                       [max(a.latency * 1000, 0.1) for a in points],
                       s=6, color=color, label=f"{outcome_kind} ({len(points)})")
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the fault (by intended send time)")
    ax.set_ylabel("latency from intended send (ms)")
    for kind in MARKS:
        at = outcome.timeline.at(kind)
        if at is not None:
            ax.axvline(at - origin, color="black", linestyle=":", linewidth=1)
            ax.text(at - origin, ax.get_ylim()[1], kind.replace("_", " "), rotation=90,
                    va="top", ha="right", fontsize=8)
    if outcome.rto.last_ok_before and outcome.rto.first_ok_after:
        ax.axvspan(outcome.rto.last_ok_before - origin, outcome.rto.first_ok_after - origin,
                   color="tab:red", alpha=0.08,
                   label=f"RTO {outcome.rto.rto_s:.2f} s")
    ax.set_title(title or f"ledger primary kill: {outcome.target} -> {outcome.new_primary}; "
                 f"RPO {outcome.rpo.lost} of {outcome.rpo.acknowledged} acknowledged lost")
    ax.legend(loc="lower right", fontsize=8, ncols=3, framealpha=0.9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
