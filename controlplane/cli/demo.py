"""`controlplane demo` (what `make demo` runs): the reference cluster, the failover loop (a
ledger primary kill under traffic that the alert's runbook repairs), a short GameDay of chaos
experiments, and the autoscaling loop on a one-matcher cluster, each with its report."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from controlplane.application.cluster import start_cluster, stop_cluster
from controlplane.application.events import Event
from controlplane.application.gameday import GAMEDAY, run_gameday
from controlplane.chaos.suite import SuiteResult
from controlplane.cli.common import (
    console,
    console_err,
    resolve_state,
    state_dir_option,
    topology_option,
)
from controlplane.cli.drill import (
    drill_options,
    plot_outcome,
    run_autoscale,
    run_failover,
    settings_from,
    step_lines,
    with_options,
)
from controlplane.cli.render import status_table
from controlplane.drills.autoscale import (
    AutoscaleOutcome,
    AutoscaleSettings,
    autoscale_topology,
)
from controlplane.drills.report import render_autoscale, render_outcome
from controlplane.platform import Platform, load_platform
from controlplane.platform.base import InstanceInfo
from controlplane.store import Store
from controlplane.topology import load_topology

__all__ = ["demo"]

@click.command()
@with_options(drill_options)
@click.option("--gameday/--no-gameday", default=True, show_default=True,
              help="Run the short GameDay of chaos experiments after the drill.")
@click.option("--autoscale/--no-autoscale", default=True, show_default=True,
              help="Run the autoscaling loop on a one-matcher cluster at the end.")
@click.option("--keep", is_flag=True, help="Leave the cluster running afterwards.")
@topology_option
@state_dir_option
def demo(rate: float, warmup: float, rejoin: bool, gameday: bool, autoscale: bool, keep: bool,
         topology_path: Path | None, state_dir: Path | None) -> None:
    """Start the cluster, kill the ledger primary under traffic, run a GameDay, overload the
    matcher of a second cluster until the runbook scales it out, report, stop."""
    topology = load_topology(topology_path)
    settings = settings_from(rate, warmup, rejoin, None)
    platform = load_platform(topology, resolve_state(state_dir, topology) if state_dir else
                             Path.cwd() / ".state" / "demo")
    steps = 3 + gameday + autoscale
    console.rule(f"1/{steps} start the reference trading cluster")
    stop_cluster(platform, purge=True)
    with console_err.status("starting cluster...") as status:
        info = start_cluster(platform, topology, lambda event: status.update(event.message),
                             all_auto_ports=True)
    suite = None
    try:
        console.print(status_table(info))
        console.rule(f"2/{steps} failover loop: kill the ledger primary under steady order "
                     "traffic; the alert runs the ledger-failover runbook")
        with Store(platform.workspace.store_path) as store:
            outcome = run_failover(platform, store, settings)
        console.print(render_outcome(outcome, outcome.drill_id))
        plot_outcome(platform, outcome, outcome.drill_id)
        if gameday:
            console.rule(f"3/{steps} GameDay: {len(GAMEDAY)} chaos experiments under traffic")
            suite = _gameday(platform)
        _web_ui(platform, info.instances, keep)
    finally:
        if not keep:
            console.rule(f"{3 + gameday}/{steps} stop")
            with console_err.status("stopping cluster..."):
                stop_cluster(platform)
            console.print("cluster stopped; nothing left running")
    scaled = None
    if autoscale:
        console.rule(f"{steps}/{steps} autoscaling loop: order load past one matcher's "
                     "capacity; the alert runs the matcher-autoscaling runbook")
        root = platform.workspace.root
        scaled = _autoscale(root.parent / f"{root.name}-autoscale")
    unreverted = [o.title for o in (suite.outcomes if suite else []) if not o.all_reverted]
    if not outcome.passed or unreverted or (scaled is not None and not scaled.passed):
        raise SystemExit(1)


def _web_ui(platform: Platform, instances: list[InstanceInfo], keep: bool) -> None:
    """Where to read these records in the web UI, and a viewer's sign-in."""
    from controlplane.application.access import viewer_token
    from controlplane.security.roles import roles

    with Store(platform.workspace.store_path) as store:
        token = viewer_token(store, roles(), "demo-viewer", "cli:demo")
    urls = [i.endpoints.get("http") or next(iter(i.endpoints.values()), "")
            for i in instances if i.kind == "controlplane" and i.endpoints]
    if keep and urls:
        console.print(f"web UI: {urls[0]}/ui/", markup=False)
    else:
        console.print("web UI, on these records once the cluster has stopped: "
                      f"controlplane serve --state-dir {platform.workspace.root} --port 8080, "
                      "then open http://127.0.0.1:8080/ui/ (availability figures need the "
                      "cluster's Prometheus: with --keep they are live)", markup=False)
    console.print(f"sign in as a viewer (demo-viewer) with the API token {token}", markup=False)


def _autoscale(state_dir: Path) -> AutoscaleOutcome:
    """A second cluster (the first is stopped): one matcher modelled as a single-threaded engine
    at 20 ms an order (50 orders/s), offered 70 orders/s."""
    platform = load_platform(autoscale_topology(), state_dir)
    stop_cluster(platform, purge=True)
    with console_err.status("starting a cluster with one matcher (50 orders/s)...") as status:
        start_cluster(platform, autoscale_topology(), lambda event: status.update(event.message),
                      all_auto_ports=True)
    try:
        with Store(platform.workspace.store_path) as store:
            outcome = run_autoscale(platform, store, AutoscaleSettings(),
                                    step_lines(console, clock=True))
        console.print(render_autoscale(outcome, outcome.drill_id))
        return outcome
    finally:
        with console_err.status("stopping the autoscaling cluster..."):
            stop_cluster(platform, purge=True)


def _gameday(platform: Platform) -> SuiteResult:
    with console_err.status("waiting for the order latency window to settle...") as status:
        def render(event: Event) -> None:
            if event.kind == "settling":
                status.update(event.message)
            elif event.kind == "run_started":
                status.update(f"GameDay: {event.data['title']}")
                console.print(f"  running {event.data['title']} ...", highlight=False,
                              markup=False)
        result = run_gameday(platform, render)
    table = Table("experiment", "verdict", "detection", "abort", "RTO", "RPO", "reverted",
                  "reason", title="GameDay", title_justify="left")
    for o in result.outcomes:
        s = o.summary()
        style = {"passed": "green", "failed": "red"}.get(o.state, "yellow")
        table.add_row(o.title, f"[{style}]{o.state}[/]", _s(s["detection_s"]),
                      _s(s["abort_latency_s"]), _s(s["rto_s"]),
                      "-" if s["rpo_orders"] is None else str(s["rpo_orders"]),
                      "yes" if o.all_reverted else "[red]NO[/]", o.reason)
    console.print(table)
    journals = [k for k in result.reports if k.startswith("journal")]
    for kind, path in result.reports.items():
        if kind not in journals:
            console.print(f"{kind} report: {path}", markup=False)
    if journals:
        console.print(f"{len(journals)} Chaos Toolkit journals (journal.json), one per run, "
                      "beside the json report", markup=False)
    return result


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} s"
