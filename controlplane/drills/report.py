"""The drill report people read: timeline, measurements against targets, verdict."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from controlplane.drills.autoscale_model import AutoscaleOutcome
from controlplane.drills.model import DrillOutcome

__all__ = ["render_autoscale", "render_outcome", "timeline_line"]

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
    "scale_out": "scale out",
    "instance_ready": "instance ready",
    "rebalanced": "rebalanced",
    "p99_recovered": "p99 recovered",
    "resumed": "resumed",
    "role_changed": "role changed",
    "nodes_checked": "nodes checked",
    "journals_checked": "journals checked",
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
    what = (f"ledger primary hang, {o.settings.hold_s:g} s" if o.kind == "ledger-hang"
            else "ledger primary kill")
    title = f"drill {'#' + str(drill_id) + ': ' if drill_id else ''}{what} " \
            f"({o.target} -> {o.new_primary or '?'})"
    notes = [Text(f"note: {n}", style="yellow") for n in o.notes]
    return Panel(Group(timeline, Text(""), table, Text(""), summary, *notes, verdict),
                 title=title, title_align="left")


def _ms(x: float | None) -> str:
    return "not measured" if x is None else f"{x:.0f} ms"


def render_autoscale(o: AutoscaleOutcome, drill_id: int | None = None) -> Panel:
    """The autoscaling loop: timeline from the load start, p99 before and after, the checks."""
    t0 = o.load_started_at
    lines = [timeline_line(k, t, t0, m) for k, t, m in o.timeline.sorted()]
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("measure", "measured", "target", ""):
        table.add_column(col)
    s = o.settings
    sli = "not measured" if o.sli_after is None else f"{o.sli_after:.1%} within {s.slo_p99_ms:g} ms"
    table.add_row("gateway order p99 before scale-out", _ms(o.p99_before_ms), "", "")
    table.add_row(f"first {s.window_s:g} s window under the SLO after it",
                  f"{sli} (p99 about {_ms(o.p99_after_ms)})", ">= 99%",
                  "[green]PASS[/]" if o.p99_under_slo else "[red]FAIL[/]")
    table.add_row("  client-side p99 (intended start), before / after",
                  f"{_ms(o.client_p99_before_ms)} / {_ms(o.client_p99_after_ms)}", "", "")
    table.add_row(f"{s.component} instances", f"{o.instances_before} -> {o.instances_after}",
                  "", "[green]PASS[/]" if o.instances_after > o.instances_before
                  else "[red]FAIL[/]")
    table.add_row("alert to new instance ready", _fmt(o.alert_to_ready_s, "s"), "", "")
    table.add_row("RPO (lost acknowledged orders)", _fmt(float(o.rpo.lost), "orders"),
                  "= 0 orders", "[green]PASS[/]" if not o.rpo.lost else "[red]FAIL[/]")
    table.add_row("orders filled twice / crossed books",
                  f"{o.double_fills} / {', '.join(o.crossed_books) or 'none'}", "= 0",
                  "[green]PASS[/]" if not (o.double_fills or o.crossed_books)
                  else "[red]FAIL[/]")
    counts = ", ".join(f"{v} {k}" for k, v in sorted(o.outcomes.items()))
    cap = (f", one {s.component} takes {o.capacity_per_instance:g}/s"
           if o.capacity_per_instance else "")
    text = f"load: {s.rate:g} orders/s open model{cap}; {counts}"
    if o.failures():
        text += "\n" + "; ".join(o.failures())
    summary = Text(text)
    verdict = Text("verdict: PASS" if o.passed else "verdict: FAIL",
                   style="bold green" if o.passed else "bold red")
    title = f"drill {'#' + str(drill_id) + ': ' if drill_id else ''}{s.component} autoscaling " \
            f"({o.new_instance or 'no new instance'})"
    return Panel(Group(Text("\n".join(lines)), Text(""), table, Text(""), summary, verdict),
                 title=title, title_align="left")
