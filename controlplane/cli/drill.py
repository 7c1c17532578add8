"""`controlplane drill` and `controlplane drills`: doors to the drill use cases
(controlplane.application.drills). They parse, call the use case, and render its events and
outcome; the record shown is the one the use case wrote (`outcome.drill_id`)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console

from controlplane.application.drills import (
    autoscale_drill,
    ledger_failover_drill,
    ledger_hang_drill,
)
from controlplane.application.events import Event, EventSink, discard
from controlplane.cli.common import (
    console,
    console_err,
    local_platform,
    nothing_recorded,
    state_dir_option,
    topology_option,
)
from controlplane.drills import DrillOutcome, DrillSettings
from controlplane.drills.autoscale_model import AutoscaleOutcome, AutoscaleSettings
from controlplane.drills.plot import plot_drill
from controlplane.drills.report import render_autoscale, render_outcome, timeline_line
from controlplane.errors import InvalidInput
from controlplane.platform import Platform
from controlplane.store import Store

__all__ = ["drill", "drill_options", "drills", "plot_outcome", "run_autoscale", "run_failover",
           "settings_from", "step_lines", "timeline_lines", "with_options"]


def settings_from(rate: float, warmup: float, rejoin: bool, target: str | None) -> DrillSettings:
    if rate <= 0 or rate > 2000:
        raise InvalidInput("must be between 0 and 2000 orders per second", field="--rate",
                           value=rate, fix="Pick a rate the machine can sustain, e.g. 50")
    if warmup < 1:
        raise InvalidInput("must be at least 1 second", field="--warmup", value=warmup,
                           fix="Give the writer time to reach steady state")
    return DrillSettings(rate=rate, warmup_s=warmup, rejoin=rejoin, target=target)


def plot_outcome(platform: Platform, outcome: DrillOutcome, drill_id: int) -> None:
    path = platform.workspace.root / "reports" / f"drill-{drill_id}.png"
    plot_drill(outcome, outcome.attempts, path)
    console.print(f"timeline plot: {path}")


def timeline_lines(out: Console = console) -> EventSink:
    """Prints each drill event on `out` as a timeline line, relative to the fault once
    injected (on stderr with --json, so that stdout carries only the document). The
    `recorded` event (the record's id) is in the report's title, so not printed here."""
    fault_at: list[float] = []

    def render(event: Event) -> None:
        if event.kind == "recorded":
            return
        if event.kind == "fault_injected":
            fault_at.append(event.at)
        out.print(timeline_line(event.kind, event.at, fault_at[0] if fault_at else None,
                                event.message), highlight=False, markup=False)
    return render


def step_lines(out: Console = console, clock: bool = False) -> EventSink:
    """Prints each autoscaling drill event as `kind  message`, or with `clock` (the demo's
    form) as `HH:MM:SS  message`."""
    def render(event: Event) -> None:
        if event.kind == "recorded":
            return
        if clock:
            line = f"  {time.strftime('%H:%M:%S', time.localtime(event.at))}  {event.message}"
        else:
            line = f"  {event.kind:<16} {event.message}"
        out.print(line, highlight=False, markup=False)
    return render


def run_failover(platform: Platform, store: Store, settings: DrillSettings,
                 out: Console = console) -> DrillOutcome:
    """The failover drill, its timeline printed on `out` as it happens."""
    return asyncio.run(ledger_failover_drill(platform, store, settings, timeline_lines(out)))


def run_autoscale(platform: Platform, store: Store, settings: AutoscaleSettings,
                  sink: EventSink = discard) -> AutoscaleOutcome:
    """The autoscaling drill, its events on `sink` as they happen."""
    return asyncio.run(autoscale_drill(platform, store, settings, sink))


def running_platform(state_dir: Path | None, topology_path: Path | None) -> Platform:
    """The platform of the state directory, refused now (clear error) if no cluster runs."""
    platform = local_platform(state_dir, topology_path)
    platform.info()
    return platform


def report(platform: Platform, outcome: DrillOutcome, as_json: bool) -> None:
    """The drill's result as JSON, or as the report and its plot; exit 1 if it failed."""
    if as_json:
        click.echo(json.dumps(outcome.result(), indent=2))
    else:
        console.print(render_outcome(outcome, outcome.drill_id))
        plot_outcome(platform, outcome, outcome.drill_id)
    if not outcome.passed:
        raise SystemExit(1)


drill_options = [
    click.option("--rate", type=float, default=50, show_default=True,
                 help="Orders per second sent by the meter (open model)."),
    click.option("--warmup", type=float, default=5, show_default=True,
                 help="Seconds of steady traffic before the fault."),
    click.option("--rejoin/--no-rejoin", default=True, show_default=True,
                 help="Restart the old primary as a standby afterwards."),
]


def with_options(options):
    def apply(f):
        for opt in reversed(options):
            f = opt(f)
        return f
    return apply


@click.group()
def drill() -> None:
    """Run a drill: a fault under steady load, with RTO and RPO measured."""


@drill.command("ledger-failover")
@with_options(drill_options)
@click.option("--target", default=None, help="The primary to kill [default: the current one].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@topology_option
@state_dir_option
def ledger_failover(rate: float, warmup: float, rejoin: bool, target: str | None, as_json: bool,
                    topology_path: Path | None, state_dir: Path | None) -> None:
    """Kill the ledger primary (SIGKILL of Patroni and PostgreSQL) under order traffic."""
    settings = settings_from(rate, warmup, rejoin, target)
    platform = running_platform(state_dir, topology_path)
    with Store(platform.workspace.store_path) as store:
        # with --json, stdout carries only the document; the timeline goes to stderr
        outcome = run_failover(platform, store, settings, console_err if as_json else console)
    report(platform, outcome, as_json)


@drill.command("ledger-hang")
@click.option("--hold", type=float, default=30, show_default=True,
              help="Seconds the primary stays frozen (SIGSTOP); longer than the leader lease "
                   "(ledger ttl) makes Patroni promote the standby meanwhile.")
@with_options(drill_options)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON only.")
@topology_option
@state_dir_option
def ledger_hang(hold: float, rate: float, warmup: float, rejoin: bool, as_json: bool,
                topology_path: Path | None, state_dir: Path | None) -> None:
    """Freeze the ledger primary for --hold seconds under order traffic, resume it, and check
    every acknowledged order on each node and in the gateways' journals."""
    if not 1 <= hold <= 600:
        raise InvalidInput("must be between 1 and 600 seconds", field="--hold", value=hold,
                           fix="Hold longer than the ledger's ttl (20 s by default), e.g. 30")
    base = settings_from(rate, warmup, rejoin, None)
    settings = replace(base, hold_s=hold, max_wait_s=max(base.max_wait_s, hold + 60))
    platform = running_platform(state_dir, topology_path)
    with Store(platform.workspace.store_path) as store:
        sink = timeline_lines(console_err if as_json else console)
        outcome = asyncio.run(ledger_hang_drill(platform, store, settings, sink))
    report(platform, outcome, as_json)


@drill.command("autoscale")
@click.option("--rate", type=float, default=70, show_default=True,
              help="Orders per second offered (open model); must exceed the matchers' capacity.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@topology_option
@state_dir_option
def autoscale(rate: float, as_json: bool, topology_path: Path | None,
              state_dir: Path | None) -> None:
    """Overload the matcher until MatcherSaturated makes the runbook scale it out; measure
    when p99 is back under the SLO and that no acknowledged order was lost."""
    if not 0 < rate <= 2000:
        raise InvalidInput("must be between 0 and 2000 orders per second", field="--rate",
                           value=rate, fix="Offer more than the matchers can take, e.g. 70")
    platform = running_platform(state_dir, topology_path)
    with Store(platform.workspace.store_path) as store:
        outcome = run_autoscale(platform, store, AutoscaleSettings(rate=rate),
                                discard if as_json else step_lines(console))
    if as_json:
        click.echo(json.dumps(outcome.result(), indent=2))
    else:
        console.print(render_autoscale(outcome, outcome.drill_id))
    if not outcome.passed:
        raise SystemExit(1)


@click.group()
def drills() -> None:
    """Read recorded drills."""


@drills.command("list")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document on stdout, nothing else.")
@topology_option
@state_dir_option
def list_drills(limit: int, as_json: bool, topology_path: Path | None,
                state_dir: Path | None) -> None:
    """Recent drills with their verdict, RTO and RPO."""
    platform = local_platform(state_dir, topology_path)
    if as_json and not platform.workspace.store_path.exists():
        click.echo(json.dumps({"drills": []}))
        return
    if nothing_recorded(platform, "drills"):
        return
    with Store(platform.workspace.store_path) as store:
        rows = store.list_drills(limit=limit)
    if as_json:
        click.echo(json.dumps({"drills": [dataclasses.asdict(d) for d in rows]}, indent=2,
                              default=str))
        return
    for d in rows:
        r = dict(d.result or {})
        console.print(f"#{d.id:<4} {d.kind:<16} {d.target:<10} {d.state:<8} "
                      f"RTO {r.get('rto_s', '-')} s  RPO {r.get('rpo_orders', '-')} orders  "
                      f"failover {r.get('failover_s', '-')} s", highlight=False)


@drills.command("show")
@click.argument("drill_id", type=int)
@topology_option
@state_dir_option
def show_drill(drill_id: int, topology_path: Path | None, state_dir: Path | None) -> None:
    """One drill's timeline and result, as JSON."""
    platform = local_platform(state_dir, topology_path)
    if not platform.workspace.store_path.exists():
        raise InvalidInput("no such drill: no drill is recorded yet in this state directory",
                           field="DRILL_ID", value=drill_id, source=str(platform.workspace.root),
                           fix="Run one first, e.g. `controlplane drill ledger-failover`")
    with Store(platform.workspace.store_path) as store:
        d = store.get_drill(drill_id)
        if d is None:
            raise InvalidInput("no such drill", field="DRILL_ID", value=drill_id,
                               fix="See `controlplane drills list`")
        events = store.drill_events(drill_id)
    click.echo(json.dumps({"id": d.id, "kind": d.kind, "target": d.target, "state": d.state,
                           "params": d.params, "result": d.result,
                           "events": [{"at": e.at, "kind": e.kind, **e.detail}
                                      for e in events]}, indent=2, default=str))
