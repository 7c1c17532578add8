"""A timeline picture of one experiment run: the meter's writes, the fault windows, and the
moments that matter (deviation, abort, recovery)."""

from __future__ import annotations

import io

from controlplane.chaos.outcome import RunOutcome

__all__ = ["timeline_png"]

COLORS = {"ack": "tab:green", "rejected": "tab:orange", "error": "tab:red",
          "timeout": "tab:purple", "skipped": "tab:gray"}
MARKS = {"method_started": "method", "deviation": "deviation",
         "aborted_and_reverted": "reverted", "recovered": "recovered"}


def timeline_png(out: RunOutcome) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = out.started_at
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for kind, color in COLORS.items():
        pts = [a for a in out.meter_attempts if a.outcome == kind]
        if pts:
            ax.scatter([a.intended - t0 for a in pts], [max(a.latency * 1000, 0.1) for a in pts],
                       s=5, color=color, label=f"{kind} ({len(pts)})")
    for f in out.faults:
        if f.injected_at:
            end = f.reverted_at or out.ended_at
            ax.axvspan(f.injected_at - t0, end - t0, color="tab:red", alpha=0.08)
            ax.text(f.injected_at - t0, 0.98, f"{f.kind} {','.join(f.instances)}",
                    transform=ax.get_xaxis_transform(), fontsize=7, va="top")
    for kind, at, _ in out.events:
        if kind in MARKS:
            ax.axvline(at - t0, color="black", linestyle=":", linewidth=1)
            ax.text(at - t0, 0.02, MARKS[kind], rotation=90, fontsize=7,
                    transform=ax.get_xaxis_transform(), va="bottom", ha="right")
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("write latency (ms)")
    ax.set_title(f"{out.title} - {out.state}", fontsize=9)
    if out.meter_attempts:
        ax.legend(loc="upper right", fontsize=7, ncols=2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
