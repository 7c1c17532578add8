"""The drill report people read: timeline, measurements against targets, verdict."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from controlplane.drills.model import DrillOutcome

__all__ = ["render_outcome", "timeline_line"]

LABELS = {
    "load_started": "load started",
    "fault_injected": "fault injected",
    "detected": "detected",
    "promoted": "promoted",
    "routed": "routed",
    "first_write_ok": "first write ok",
    "recovered": "recovered",
    "rejoined": "rejoined",
    "rpo_checked": "RPO checked",
    "alerted": "alerted",
    "runbook_started": "runbook",
    "first_action": "first action",
    "runbook_done": "runbook done",
}


def timeline_line(kind: str, at: float, fault_at: float | None, message: str) -> str:
    rel = f"{at - fault_at:+8.2f} s" if fault_at else "          "
    return f"{rel}  {LABELS.get(kind, kind):<15} {message}"


def _fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "not measured"
    return f"{x:.0f} {unit}" if unit == "orders" else f"{x:.2f} {unit}"


def _rel(at: float | None, origin: float) -> float | None:
    return None if at is None else at - origin


def render_outcome(o: DrillOutcome, drill_id: int | None = None) -> Panel:
    lines = [timeline_line(k, t, o.fault_at, m) for k, t, m in o.timeline.sorted()]
    timeline = Text("\n".join(lines))
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("measure", "measured", "target", ""):
        table.add_column(col)
    for c in o.checks():
        op = "=" if c.unit == "orders" and c.target == 0 else "<="
        table.add_row(c.name, _fmt(c.measured, c.unit), f"{op} {c.target:g} {c.unit}",
                      "[green]PASS[/]" if c.passed else "[red]FAIL[/]")
    table.add_row("detection (Prometheus)", _fmt(o.detection_s, "s"), "", "")
    if o.loop is not None:
        table.add_row("alert at the control plane", _fmt(o.alerted_s, "s"),
                      o.loop.alert, "")
        run = ("no runbook ran" if o.loop.run_id is None else
               f"run {o.loop.run_id} {o.loop.run_state}, first action "
               f"{_fmt(_rel(o.loop.first_action_at, o.fault_at), 's')}")
        table.add_row(f"runbook {o.loop.runbook}", run, "", "")
    lat = o.latency
    table.add_row("ack latency before fault", f"p50 {lat.p50_ms:.1f} ms, p99 {lat.p99_ms:.1f} ms,"
                  f" mean {lat.mean_ms:.1f} ms", "", "")
    acked = o.rpo.acknowledged
    counts = ", ".join(f"{v} {k}" for k, v in sorted(o.outcomes.items()))
    summary = Text(f"load: {o.settings.rate:g} orders/s open model; {counts}\n"
                   f"RPO: {o.rpo.lost} of {acked} acknowledged orders lost"
                   + (f" (spanning {o.rpo.lost_span_s:.2f} s)" if o.rpo.lost else "")
                   + f"; RTO resolution {o.rto.resolution_s * 1000:.0f} ms, "
                   f"{o.rto.failed_in_gap} writes failed inside the gap")
    verdict = Text("verdict: PASS" if o.passed else "verdict: FAIL",
                   style="bold green" if o.passed else "bold red")
    title = f"drill {'#' + str(drill_id) + ': ' if drill_id else ''}ledger primary kill " \
            f"({o.target} -> {o.new_primary or '?'})"
    return Panel(Group(timeline, Text(""), table, Text(""), summary, verdict), title=title,
                 title_align="left")
