"""`controlplane gameday ...`: unattended GameDays (run, resume after a crash), their history,
the schedules the service runs, and the monthly comparison."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import click

from controlplane.application import schedules as scheduling
from controlplane.application import unattended
from controlplane.application.chaos import with_rate
from controlplane.application.events import Event
from controlplane.chaos.experiments import EXPERIMENTS_DIR
from controlplane.chaos.guardrails import DEFAULT_POLICY, Policy, load_policy
from controlplane.chaos.schedules import DEFAULT_SCHEDULES, load_schedules
from controlplane.cli.common import (
    console,
    console_err,
    lit,
    local_platform,
    state_dir_option,
    topology_option,
)
from controlplane.cli.completion import experiment_targets
from controlplane.errors import InvalidInput

__all__ = ["gameday"]

STYLE = {"passed": "green", "failed": "red", "aborted": "red", "interrupted": "red",
         "skipped": "yellow", "refused": "yellow"}
_SHOWN = ("run_finished", "interrupted", "resuming", "started", "finished")


@click.group()
def gameday() -> None:
    """Unattended GameDays: the catalogue (or a selection) in one go, resumable after a crash,
    and the schedules the service runs them on."""


def _policy_option(f):
    return click.option("--policy", "policy_path", type=click.Path(path_type=Path),
                        default=None, help="Guardrails policy [default: "
                        f"{os.path.relpath(DEFAULT_POLICY)}].")(f)


def _unattended(policy_path: Path | None, rate: float | None) -> tuple[Policy, Path]:
    path = policy_path or DEFAULT_POLICY
    policy = with_rate(load_policy(path), rate)
    if policy.approval.required:
        raise InvalidInput("requires approval (the two-person rule), which an unattended "
                           "GameDay cannot wait for", source=str(path), field="approval",
                           fix="Run single experiments with `controlplane chaos run`, or use a "
                           "profile without approval.required")
    return policy, path


def _render(as_json: bool):
    out = console_err if as_json else console

    def render(event: Event) -> None:
        if event.kind not in _SHOWN:
            return
        state = str(event.data.get("state", ""))
        title = event.data.get("title") or event.message
        if event.kind == "run_finished":
            out.print(f"[{STYLE.get(state, 'white')}]{state:<11}[/] {lit(title)}  "
                      f"[dim]{lit(event.data.get('reason'))}[/]", highlight=False)
        else:
            out.print(lit(event.message), highlight=False)
    return render


def _done(result: unattended.GameDayResult, as_json: bool) -> None:
    data = result.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        console.print(f"GameDay {result.gameday.id}: " + ", ".join(
            f"[{STYLE.get(k, 'white')}]{v} {k}[/]" for k, v in sorted(data["counts"].items())))
        console.print("every fault verified reverted" if data["all_faults_reverted"] else
                      "[red]NOT every fault verified reverted[/]")
        for kind in ("json", "junit", "html"):
            console.print(f"{kind}: {result.reports[kind]}")
    if not result.ok:
        raise SystemExit(1)


@gameday.command()
@click.argument("targets", nargs=-1, shell_complete=experiment_targets)
@_policy_option
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Where to write report.json, junit.xml and report.html.")
@click.option("--rate", type=float, default=None, help="Override the meter's orders/s.")
@click.option("--schedule", default=None, hidden=True, help="The schedule that started it.")
@click.option("--id", "gameday_id", default=None, hidden=True, help="The GameDay's id.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the GameDay as one JSON document (progress on stderr).")
@topology_option
@state_dir_option
def run(targets: tuple[str, ...], policy_path: Path | None, report_dir: Path | None,
        rate: float | None, schedule: str | None, gameday_id: str | None, as_json: bool,
        topology_path: Path | None, state_dir: Path | None) -> None:
    """Run TARGETS (files, directories, tag selectors; the whole catalogue without any) as one
    GameDay, going on past findings. If the same GameDay was interrupted (the control plane
    died), this resumes it. Exits 0 only if every experiment passed."""
    policy, path = _unattended(policy_path, rate)
    platform = local_platform(state_dir, topology_path)
    result = unattended.start(platform, policy, path, list(targets) or [str(EXPERIMENTS_DIR)],
                              report_dir=report_dir, schedule=schedule, gameday_id=gameday_id,
                              sink=_render(as_json))
    _done(result, as_json)


@gameday.command()
@click.argument("gameday_id", required=False)
@_policy_option
@click.option("--rate", type=float, default=None, help="Override the meter's orders/s.")
@click.option("--json", "as_json", is_flag=True, help="Print the GameDay as one JSON document.")
@topology_option
@state_dir_option
def resume(gameday_id: str | None, policy_path: Path | None, rate: float | None,
           as_json: bool, topology_path: Path | None, state_dir: Path | None) -> None:
    """Resume an interrupted GameDay (the newest without GAMEDAY_ID): revert and record the
    experiment that was running as interrupted, then go on at the next one."""
    platform = local_platform(state_dir, topology_path)
    if policy_path is None:
        with platform.workspace.store() as store:
            found = store.get_gameday(gameday_id) if gameday_id else next(
                iter(store.gamedays(state="running")), None)
        policy_path = Path(found.policy) if found else None
    policy, _ = _unattended(policy_path, rate)
    _done(unattended.resume(platform, policy, gameday_id, sink=_render(as_json)), as_json)


@gameday.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print the GameDays and the scheduler's decisions as one JSON document.")
@topology_option
@state_dir_option
def history(limit: int, as_json: bool, topology_path: Path | None,
            state_dir: Path | None) -> None:
    """The GameDays run here, newest first, and every scheduler decision."""
    platform = local_platform(state_dir, topology_path)
    with platform.workspace.store() as store:
        days = [unattended.gameday_dict(g) for g in store.gamedays(limit=limit)]
        decisions = [asdict(d) for d in store.decisions(limit=limit)]
    if as_json:
        click.echo(json.dumps({"gamedays": days, "decisions": decisions}, indent=2))
        return
    for g in days:
        console.print(f"{g['id']}  {g['state']:<9} " + ", ".join(
            f"{v} {k}" for k, v in sorted(g["counts"].items())), markup=False)
    for d in decisions:
        console.print(f"{_iso(d['due_at'])} {d['schedule']}: {d['decision']} "
                      f"({d['reason']})", markup=False, highlight=False)


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _schedules_option(f):
    return click.option("--file", "schedules_file", type=click.Path(path_type=Path),
                        default=None, help="Schedules file [default: "
                        f"{os.path.relpath(DEFAULT_SCHEDULES)}].")(f)


@gameday.command()
@_schedules_option
@click.option("--json", "as_json", is_flag=True, help="Print the schedules as one JSON document.")
@topology_option
@state_dir_option
def schedules(schedules_file: Path | None, as_json: bool, topology_path: Path | None,
              state_dir: Path | None) -> None:
    """The GameDay schedules (validated), when each is next due, and its last decision."""
    found = load_schedules(schedules_file)
    platform = local_platform(state_dir, topology_path)
    platform.workspace.root.mkdir(parents=True, exist_ok=True)
    with platform.workspace.store() as store:
        rows = scheduling.schedule_rows(store, found, time.time())
    if as_json:
        click.echo(json.dumps({"schedules": rows}, indent=2, default=str))
        return
    for r in rows:
        last = r["last_decision"]
        console.print(f"{r['name']}: '{r['cron']}' {r['timezone']}, next {r['next_due']}; "
                      f"last: {last['decision'] + ' (' + last['reason'] + ')' if last else '-'}",
                      markup=False, highlight=False)


@gameday.command()
@click.argument("gameday_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON "
              "document.")
@topology_option
@state_dir_option
def compare(gameday_id: str | None, as_json: bool, topology_path: Path | None,
            state_dir: Path | None) -> None:
    """The monthly report: a GameDay (the newest finished one) against the previous one of the
    same schedule: new findings, fixed findings, and the pass rate of each."""
    platform = local_platform(state_dir, topology_path)
    with platform.workspace.store() as store:
        data = scheduling.compare(store, gameday_id).to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    before = "-" if data["previous_score"] is None else f"{data['previous_score']:.1%}"
    console.print(f"GameDay {data['current']} against {data['previous'] or '(none before)'}: "
                  f"pass rate {data['score']:.1%} (before: {before})", markup=False)
    for f in data["new_findings"]:
        console.print(f"new finding: {f['experiment']}: {f['state']} ({f['reason']})",
                      markup=False, highlight=False)
    for name in data["fixed_findings"]:
        console.print(f"fixed: {name}", markup=False, highlight=False)
