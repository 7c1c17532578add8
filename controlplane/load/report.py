"""Load runs, calibrations and plans for people reading a terminal (rich renderables)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from controlplane.load.plan import Plan
from controlplane.load.results import RunOutcome

__all__ = ["calibration_table", "outcome_table", "plan_table", "progress_text"]

VERDICT_STYLE = {"passed": "bold green", "failed": "bold red", "invalid": "bold yellow",
                 "aborted": "bold yellow", "error": "bold red"}


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f} ms"


def progress_text(tick: dict[str, Any]) -> Text:
    window = tick.get("window") or {}
    requests, failures = tick["totals"]["requests"], tick["totals"]["failures"]
    ratio = failures / requests if requests else 0.0
    cpu = ", ".join(f"{w['id'][-6:]} {w['cpu']:.0f}%" for w in tick.get("workers") or []) \
        or f"engine {tick['engine']['cpu']:.0f}%"
    p99 = (window.get("latency_ms") or {}).get("p99")
    locust = (tick.get("locust_ms") or {}).get("p99")
    return Text.assemble(
        (f"{tick['elapsed']:6.0f} s  ", "dim"),
        f"users {tick['users']}/{tick['target_users']}  ",
        f"{tick['rps']:.1f} req/s  ",
        ("p99 ", "bold"), f"{_ms(p99)} from intended start (last {window.get('seconds', 0)} s)",
        f" | Locust p99 {_ms(locust)}  ",
        (f"failures {failures} ({ratio:.2%})", "red" if failures else ""),
        f"  CPU {cpu}")


def outcome_table(out: RunOutcome) -> Table:
    table = Table(title=f"load run '{out.profile}' ({out.mode}) -> {out.host}",
                  title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("verdict", Text(out.verdict.upper(), style=VERDICT_STYLE[out.verdict]))
    for reason in out.failures:
        table.add_row("gate failed", reason)
    for reason in out.invalid:
        table.add_row("invalid", reason)
    if out.error:
        where = f" ({out.error['file']})" if out.error.get("file") else ""
        table.add_row("error", f"{out.error.get('kind')}: {out.error.get('message')}{where}")
    table.add_row("stopped", out.stop_reason or "-")
    if out.breakpoint_users is not None:
        table.add_row("breakpoint", f"{out.breakpoint_users} users: the gate was first "
                      "breached at this user count and stayed breached past its grace period")
    summary = out.summary
    if summary:
        hdr, locust = summary["hdr"], summary["locust"]
        table.add_row("requests", f"{hdr['requests']:,} ({hdr['failures']:,} failed), "
                      f"{locust['rps']:.1f} req/s, up to {summary['max_users']} users "
                      f"of {out.target_users}"
                      + (f"; {summary['unfinished_at_stop']} still in flight at the stop "
                         f"(oldest {summary['oldest_unfinished_ms']:.0f} ms), not recorded"
                         if summary.get("unfinished_at_stop") else ""))
        for key in ("p50", "p90", "p99", "p99.9", "max"):
            table.add_row(f"latency {key}", f"{_ms(hdr['latency_ms'].get(key))} from intended "
                          f"start | {_ms(hdr['service_ms'].get(key))} service time "
                          f"(HdrHistogram) | Locust {_ms(locust['ms'].get(key))}")
    if out.peak_cpu:
        table.add_row("generator CPU", ", ".join(f"{k[-10:]} {v:.0f}%"
                                                 for k, v in out.peak_cpu.items())
                      + " (peak of the rolling mean)")
    if out.chaos:
        table.add_row("chaos", _chaos_line(out.chaos))
    table.add_row("results", out.out_dir)
    return table


def _chaos_line(chaos: dict[str, Any]) -> str:
    text = f"{chaos['title'] or chaos['experiment']}: {chaos['status']}"
    if chaos.get("deviated"):
        text += " (the steady state deviated after the method)"
    if chaos.get("interrupted_by"):
        text += f" (interrupted by {chaos['interrupted_by']})"
    if chaos.get("window"):
        start, end = chaos["window"]
        inside = chaos.get("in_window", {})
        text += (f"; fault window {end - start:.1f} s: {inside.get('requests', 0)} requests, "
                 f"{chaos.get('failed_in_window', 0)} failed (trace ids in "
                 f"{chaos.get('failed_file')})")
    if chaos.get("note"):
        text += f"; {chaos['note']}"
    return text


def calibration_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"calibration of '{result['profile']}' (one engine process)",
                  title_justify="left")
    for col in ("users", "CPU", "req/s", "RSS", "connections", "errors", "p99 (intended)"):
        table.add_column(col, justify="right")
    for s in result["steps"]:
        table.add_row(str(s["users"]), f"{s['cpu_pct']:.0f}%", f"{s['requests_per_s']:.1f}",
                      f"{s['rss_bytes'] / 2**20:.0f} MiB", f"{s['connections']:.0f}",
                      f"{s['error_ratio']:.1%}", _ms(s["p99_ms"]))
    b = result["basis"]
    table.caption = (f"{result['stop']}. Users per worker at {b['cpu_ceiling_pct']:g}% CPU: "
                     f"{b['users_per_worker']:.0f} ("
                     + ("measured" if b["users_per_worker_measured"] else "extrapolated")
                     + f"); {b['bytes_per_user'] / 1024:.1f} KiB and "
                     f"{b['connections_per_user']:.2f} connections per user; "
                     f"{b['requests_per_user_s']:.3f} req/s per user")
    return table


def plan_table(plan: Plan, basis_source: str = "") -> Table:
    """The plan; `basis_source` says which calibration it rests on (shipped, measured here,
    a file)."""
    table = Table(title=f"plan for {plan.users:,} users of '{plan.basis.profile}'",
                  title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    rows = [("basis", basis_source)] if basis_source else []
    rows += [
        ("users per worker", f"{plan.basis.users_per_worker:,.0f} at "
         f"{plan.basis.cpu_ceiling_pct:g}% CPU of one core"),
        ("workers", f"{plan.workers:,} (one per core)"),
        ("masters", f"{plan.masters:,} (at most 1,000 workers each)"),
        ("cores", f"{plan.cores:,} (workers + one per master)"),
        ("memory", f"{plan.memory_bytes / 2**30:,.1f} GiB"),
        ("request rate", f"{plan.requests_per_s:,.0f} req/s offered"),
        ("connections", f"{plan.connections:,}"),
        ("source addresses", f"{plan.source_addresses:,} per target address:port "
         f"({plan.ephemeral_ports:,} ephemeral ports each)"),
        ("file descriptors", f"{plan.fds_per_worker:,} per worker "
         f"(limit here: {plan.fd_limit_here:,})"),
    ]
    for what, value in rows:
        table.add_row(what, value)
    table.caption = "\n".join(plan.notes)
    table.caption_justify = "left"
    return table
