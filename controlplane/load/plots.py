"""Pictures of a load run: throughput and latency over time, with the fault window marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from controlplane.load.results import RunOutcome

__all__ = ["plot_run"]


def _pyplot() -> Any:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _mark_window(ax: Any, outcome: RunOutcome, origin: float) -> None:
    window = (outcome.chaos or {}).get("window")
    if window:
        ax.axvspan(window[0] - origin, window[1] - origin, color="tab:red", alpha=0.12,
                   label="fault window")


def plot_run(outcome: RunOutcome, out_dir: Path) -> dict[str, str]:
    """throughput.png and latency.png in `out_dir`; returns {name: file name}."""
    if not outcome.rows or outcome.started_at is None:
        return {}
    plt = _pyplot()
    origin = outcome.started_at
    title = f"{outcome.profile} ({outcome.mode}): {outcome.verdict}"
    files = {"throughput_png": _throughput(plt, outcome, origin, title, out_dir / "throughput.png"),
             "latency_png": _latency(plt, outcome, origin, title, out_dir / "latency.png")}
    return {k: v.name for k, v in files.items()}


def _throughput(plt: Any, outcome: RunOutcome, origin: float, title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(11, 4.2))
    xs = [r["t"] + 0.5 - origin for r in outcome.rows]
    ax.plot(xs, [r["requests"] for r in outcome.rows], color="tab:blue", label="requests/s")
    ax.plot(xs, [r["failures"] for r in outcome.rows], color="tab:red", label="failures/s")
    _mark_window(ax, outcome, origin)
    ax.set_xlabel("seconds since the load started")
    ax.set_ylabel("per second (by completion)")
    users = ax.twinx()
    users.plot([t["elapsed"] for t in outcome.ticks], [t["users"] for t in outcome.ticks],
               color="tab:gray", linestyle="--", label="users")
    users.set_ylabel("users")
    lines = ax.get_legend_handles_labels()
    more = users.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    ax.set_title(f"throughput - {title}")
    return _save(plt, fig, path)


def _latency(plt: Any, outcome: RunOutcome, origin: float, title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(11, 4.2))
    rows = [r for r in outcome.rows if r["latency_ms"]]
    xs = [r["t"] + 0.5 - origin for r in rows]
    for key, color in (("p50", "tab:green"), ("p99", "tab:orange"), ("max", "tab:red")):
        ax.plot(xs, [max(r["latency_ms"].get(key, 0.0), 0.01) for r in rows], color=color,
                marker=".", linestyle="none",
                label=f"{key} from intended start (HdrHistogram, per second of completion)")
    live = [(t["elapsed"], t["window_p99"]) for t in outcome.ticks if t.get("window_p99")]
    if live:
        ax.plot([x for x, _ in live], [y for _, y in live], color="tab:orange",
                label="p99 from intended start, gates' window (pending requests included)")
    locust = [(t["elapsed"], t["locust_p99"]) for t in outcome.ticks if t.get("locust_p99")]
    if locust:
        ax.plot([x for x, _ in locust], [y for _, y in locust], color="tab:purple",
                linestyle=":", label="Locust's p99 (service time, ~10 s window)")
    _mark_window(ax, outcome, origin)
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the load started")
    ax.set_ylabel("latency (ms)")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"latency - {title}")
    return _save(plt, fig, path)


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
