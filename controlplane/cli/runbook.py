"""`controlplane runbook ...`: list, show, run (or dry-run), approve, status, pause, resume.

`list`, `show`, `actions` and `status` take `--json`: one JSON document on stdout and nothing
else (the documents come from application/runbooks.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from controlplane.application.events import Event
from controlplane.application.runbooks import (
    actions_document,
    check_manual_labels,
    decide,
    pause_automation,
    resume_automation,
    run_document,
    run_runbook,
    runbook_document,
    runbooks_document,
    runs_document,
)
from controlplane.cli.common import (
    cli_actor,
    console,
    lit,
    local_platform,
    nothing_recorded,
    state_dir_option,
    topology_option,
)
from controlplane.cli.completion import runbook_names
from controlplane.errors import InvalidInput
from controlplane.runbooks.actions import all_actions
from controlplane.runbooks.model import RUNBOOKS_DIR, Runbook, load_runbooks, template_labels
from controlplane.store import Store

__all__ = ["runbook"]

runbooks_option = click.option("--runbooks", "runbooks_dir", type=click.Path(path_type=Path),
                               default=RUNBOOKS_DIR, show_default=True)


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON document on stdout, nothing else.")


def _echo_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, default=str))


def _find(runbooks_dir: Path, name: str) -> tuple[Path, Runbook]:
    found = load_runbooks(runbooks_dir)
    if name not in found:
        raise InvalidInput("no such runbook", field="NAME", value=name,
                           fix=f"Use one of: {', '.join(sorted(found))}")
    return found[name]


def _get(runbooks_dir: Path, name: str) -> Runbook:
    return _find(runbooks_dir, name)[1]


@click.group()
def runbook() -> None:
    """Automated runbooks: failover, restarts, recovery, load shedding."""


@runbook.command("list")
@runbooks_option
@json_option
def list_runbooks(runbooks_dir: Path, as_json: bool) -> None:
    """Every runbook, its trigger and expected RTO."""
    found = load_runbooks(runbooks_dir)
    if as_json:
        _echo_json(runbooks_document(found))
        return
    table = Table("runbook", "trigger", "mode", "expected RTO", "steps")
    for name, (_, rb) in found.items():
        table.add_row(name, rb.trigger.alert or "manual", rb.mode, f"{rb.expected_rto_s:g} s",
                      ", ".join(s.name for s in rb.steps))
    console.print(table)


@runbook.command()
@json_option
def actions(as_json: bool) -> None:
    """The action registry steps draw from."""
    if as_json:
        _echo_json(actions_document())
        return
    table = Table("action", "parameters", "checks only", "what it does")
    for name, act in sorted(all_actions().items()):
        table.add_row(name, ", ".join(act.params.model_fields) or "-",
                      "yes" if not act.mutates else "", act.summary)
    console.print(table)


@runbook.command()
@click.argument("name", shell_complete=runbook_names)
@runbooks_option
@json_option
def show(name: str, runbooks_dir: Path, as_json: bool) -> None:
    """One runbook's confirmation checks, steps, verifications and rollbacks."""
    path, rb = _find(runbooks_dir, name)
    if as_json:
        _echo_json(runbook_document(path, rb))
        return
    console.print(f"[bold]{rb.name}[/] ({rb.mode}, expected RTO {rb.expected_rto_s:g} s, "
                  f"target {lit(rb.target)}): {lit(rb.description)}")
    for check in rb.confirm:
        console.print(f"  confirms first: {check.describe()} within {check.within_s:g} s",
                      highlight=False, markup=False)
    for i, s in enumerate(rb.steps):
        console.print(f"  {i}. {s.name}: {s.action} {s.params or ''} (timeout {s.timeout_s:g} s,"
                      f" retries {s.retries}{', approval' if rb.needs_approval(s) else ''})",
                      highlight=False, markup=False)
        if s.verify:
            console.print(f"     verify: {s.verify.promql or s.verify.action} "
                          f"within {s.verify.within_s:g} s", highlight=False, markup=False)
        for call in s.rollbacks():
            console.print(f"     rollback: {call.action} {call.params or ''}",
                          highlight=False, markup=False)
    labels = template_labels(rb)
    if labels:
        console.print(f"  takes from its alert: {', '.join(labels)} (by hand: "
                      + " ".join(f"--label {n}=VALUE" for n in labels) + ")",
                      highlight=False, markup=False)


def _render(event: Event) -> None:
    """One runbook event as the terminal shows it."""
    if event.kind == "waiting":
        console.print(f"  waiting for approval of step {event.data['idx']} "
                      f"({event.data['name']}): controlplane runbook approve {event.record} "
                      f"--step {event.data['idx']}", markup=False, highlight=False)
    elif event.kind in ("step", "recorded", "finished"):
        if event.kind == "step":
            d = event.data
            line = f"  {d['name']:<28} {d['kind']:<8} {d['state']:<10} {d['error'] or ''}"
        else:
            line = event.message
        console.print(line, highlight=False, markup=False)


def _labels(given: tuple[str, ...]) -> dict[str, str]:
    """`--label NAME=VALUE` options as a mapping; each name once."""
    labels: dict[str, str] = {}
    for item in given:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput("not NAME=VALUE", field="--label", value=item,
                               fix="Write it as --label instance_id=gateway-1")
        if name in labels:
            raise InvalidInput(f"label {name!r} given twice", field="--label", value=item,
                               fix="Give each label once")
        labels[name] = value
    return labels


@runbook.command()
@click.argument("name", shell_complete=runbook_names)
@click.option("--dry-run", is_flag=True, help="Print the plan; act on nothing.")
@click.option("--label", "label_items", multiple=True, metavar="NAME=VALUE",
              help="A label of the alert the runbook's parameter templates take "
              "({{ labels.NAME }}), e.g. --label instance_id=gateway-1. Repeatable.")
@runbooks_option
@topology_option
@state_dir_option
def run(name: str, dry_run: bool, label_items: tuple[str, ...], runbooks_dir: Path,
        topology_path: Path | None, state_dir: Path | None) -> None:
    """Run a runbook now, in this terminal (approvals come from `runbook approve`)."""
    rb = _get(runbooks_dir, name)
    labels = _labels(label_items)
    check_manual_labels(rb, labels)             # refused before the cluster is even asked
    platform = local_platform(state_dir, topology_path)
    platform.info()
    done = run_runbook(platform, rb, cli_actor(None), dry_run=dry_run, sink=_render,
                       labels=labels)
    if done.state != "succeeded":
        raise SystemExit(1)


@runbook.command()
@click.argument("run_id", type=int)
@click.option("--step", "idx", type=int, default=None, help="[default: the waiting step]")
@click.option("--reject", is_flag=True)
@click.option("--reason", default=None)
@click.option("--as", "actor", default=None, help="[default: operator:<login>; a sensitive "
              "runbook needs the name of a registered user]")
@click.option("--totp", "totp_code", default=None,
              help="The approver's current TOTP code (a sensitive runbook asks for it).")
@topology_option
@state_dir_option
def approve(run_id: int, idx: int | None, reject: bool, reason: str | None, actor: str | None,
            totp_code: str | None, topology_path: Path | None, state_dir: Path | None) -> None:
    """Approve (or --reject) the step a run is waiting on."""
    platform = local_platform(state_dir, topology_path)
    with Store(platform.workspace.store_path) as store:
        decision = decide(store, run_id, idx, reject=reject, actor=cli_actor(actor),
                          reason=reason, totp_code=totp_code)
    if decision.decision == "pending":
        console.print(f"run {run_id} step {decision.idx}: approved by {decision.actor}; "
                      f"{decision.have} of {decision.needed} approvals, waiting for another "
                      "person", markup=False)
        return
    console.print(f"run {run_id} step {decision.idx}: {decision.decision}d by {decision.actor}")


@runbook.command()
@click.argument("run_id", type=int, required=False)
@click.option("--limit", default=20, show_default=True)
@json_option
@topology_option
@state_dir_option
def status(run_id: int | None, limit: int, as_json: bool, topology_path: Path | None,
           state_dir: Path | None) -> None:
    """Recent runs, or every step of one run (who, when, input, output, result)."""
    platform = local_platform(state_dir, topology_path)
    if not platform.workspace.store_path.exists():
        if not as_json:
            nothing_recorded(platform, "runbook runs")
        elif run_id is None:
            _echo_json(runs_document(None, limit))
        else:
            run_document(None, run_id)              # refused: no such run
        return
    with Store(platform.workspace.store_path) as store:
        document = (runs_document(store, limit) if run_id is None
                    else run_document(store, run_id))
    if as_json:
        _echo_json(document)
    elif run_id is None:
        _print_runs(document)
    else:
        _print_steps(document)


def _print_runs(document: dict[str, Any]) -> None:
    table = Table("run", "runbook", "state", "started by", "started", "error")
    for r in document["runs"]:
        table.add_row(str(r["id"]), r["runbook"], r["state"], r["started_by"],
                      time.strftime("%H:%M:%S", time.localtime(r["started_at"])),
                      r["error"] or "")
    paused = document["automation"]
    if paused["paused"]:
        console.print(f"[bold yellow]automation paused[/] by {lit(paused['actor'])}"
                      f"{': ' + lit(paused['reason']) if paused['reason'] else ''}; alerts start "
                      "no runbook until `controlplane runbook resume`")
    console.print(table)


def _print_steps(document: dict[str, Any]) -> None:
    table = Table("step", "kind", "action", "state", "attempt", "actor", "took",
                  "output / error")
    for s in document["steps"]:
        took = f"{s['took_s']:.2f} s" if s["took_s"] is not None else "-"
        table.add_row(s["name"], s["kind"], s["action"], s["state"], str(s["attempt"]),
                      s["actor"], took, s["error"] or str(s["output"] or "")[:80])
    console.print(table)


@runbook.command()
@click.option("--reason", required=True, help="Why (shown to everyone who looks).")
@click.option("--as", "actor", default=None, help="[default: operator:<login>]")
@topology_option
@state_dir_option
def pause(reason: str, actor: str | None, topology_path: Path | None,
          state_dir: Path | None) -> None:
    """Stop alerts from starting runbooks (maintenance). Each skipped run is still recorded."""
    platform = local_platform(state_dir, topology_path)
    with Store(platform.workspace.store_path) as store:
        state = pause_automation(store, cli_actor(actor), reason)
    console.print(f"automation paused by {state.actor}: {state.reason}", markup=False)


@runbook.command()
@click.option("--as", "actor", default=None, help="[default: operator:<login>]")
@topology_option
@state_dir_option
def resume(actor: str | None, topology_path: Path | None, state_dir: Path | None) -> None:
    """Let alerts start runbooks again."""
    platform = local_platform(state_dir, topology_path)
    with Store(platform.workspace.store_path) as store:
        state = resume_automation(store, cli_actor(actor))
    console.print(f"automation resumed by {state.actor}")
