"""`controlplane chaos ...`: run experiments under guardrails, halt, resume, recover."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from controlplane.application import chaos as usecases
from controlplane.application import chaos_approvals as approvals
from controlplane.application.events import Event
from controlplane.chaos.experiments import EXPERIMENTS_DIR
from controlplane.chaos.guardrails import DEFAULT_POLICY, Policy, load_policy
from controlplane.cli.common import (
    cli_actor,
    console,
    console_err,
    lit,
    local_platform,
    nothing_recorded,
    state_dir_option,
    topology_option,
)
from controlplane.cli.completion import experiment_targets
from controlplane.platform.base import Platform
from controlplane.topology import load_topology

__all__ = ["chaos"]

STATE_STYLE = {"passed": "green", "failed": "red", "aborted": "red", "skipped": "yellow",
               "refused": "yellow"}


@click.group()
def chaos() -> None:
    """Chaos experiments under guardrails, with every fault recorded and reverted."""


@chaos.command()
@click.argument("target", shell_complete=experiment_targets)
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None,
              help=f"Guardrails policy [default: {os.path.relpath(DEFAULT_POLICY)}].")
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Where to write report.json, junit.xml and report.html.")
@click.option("--rate", type=float, default=None, help="Override the meter's orders/s.")
@click.option("--request", "request_id", type=int, default=None,
              help="The approval request this run is (a profile that requires approval).")
@click.option("--wait-approval", type=click.FloatRange(0, 86400), default=0,
              show_default=True, help="Seconds to wait for the approvals a profile requires; "
              "0 records the request and exits 4 until it is approved.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the suite's result as one JSON document (progress on stderr).")
@topology_option
@state_dir_option
def run(target: str, policy_path: Path | None, report_dir: Path | None, rate: float | None,
        request_id: int | None, wait_approval: float, as_json: bool,
        topology_path: Path | None, state_dir: Path | None) -> None:
    """Run TARGET: an experiment file, a directory, a tag selector (fault=process-kill) or a
    suite. Exits 0 only if every experiment passed. Under a profile that requires approval
    (the production one) it first needs another person's approval (`chaos approve`)."""
    policy = usecases.with_rate(load_policy(policy_path), rate)
    paths = usecases.select_experiments(target)          # refuse bad files before acting
    platform = local_platform(state_dir, topology_path)
    out = console_err if as_json else console           # with --json, stdout is the document
    if policy.approval.required or request_id is not None:    # the two-person rule
        _await_approval(platform, target, policy_path or DEFAULT_POLICY, policy, request_id,
                        wait_approval, out)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    with Progress(*columns, console=out, transient=True) as bar:
        task = bar.add_task("chaos", total=len(paths))

        def render(event: Event) -> None:
            title = str(event.data.get("title", ""))
            if event.kind == "run_finished":
                bar.advance(task)
                state = str(event.data.get("state"))
                style = STATE_STYLE.get(state, "white")
                bar.console.print(f"[{style}]{state:<8}[/] {lit(title)}  "
                                  f"[dim]{lit(event.data.get('reason'))}[/]", highlight=False)
            elif event.kind == "notice":
                bar.console.print(f"[yellow]notice[/] {lit(title)}: {lit(event.message)}",
                                  highlight=False)
            else:
                bar.update(task, description=lit(
                    f"{title[:50]}: {event.kind} {event.message}"[:90]))
        result = usecases.run_experiments(platform, policy, paths, report_dir, render)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        _summary(result)
    if not result.ok:
        raise SystemExit(1)


def _await_approval(platform: Platform, target: str, policy_file: Path, policy: Policy,
                    request_id: int | None, wait_s: float, out: Console) -> None:
    """Record (or take) the run's approval request and wait up to `wait_s` for it; refused
    (exit 4, naming who may approve) while it waits, or when it was rejected."""
    platform.info()                             # no cluster: refused before any request
    with platform.workspace.store() as store:
        approvals.await_release(store, target, policy_file, policy, cli_actor(None),
                                request_id, wait_s, lambda event: out.print(
                                    event.message, markup=False, highlight=False))


def _summary(result) -> None:
    console.print(f"suite {result.suite_id}: " + ", ".join(
        f"[{STATE_STYLE.get(k, 'white')}]{v} {k}[/]" for k, v in result.counts().items()))
    if result.recovered:
        console.print(f"reverted {result.recovered} faults left by an earlier crashed run")
    for kind, path in result.reports.items():
        console.print(f"{kind}: {path}")


@chaos.command()
@click.argument("targets", nargs=-1, shell_complete=experiment_targets)
@click.option("--json", "as_json", is_flag=True,
              help="Print every file's verdict as one JSON document.")
@topology_option
def validate(targets: tuple[str, ...], as_json: bool, topology_path: Path | None) -> None:
    """Validate experiment files (the catalogue without TARGETS): Chaos Toolkit's rules, then
    ours, then the names they use (targets, peers, links, services) against the topology.
    Reports every invalid file; exits 2 if any is."""
    checked = usecases.validate_experiments(targets, load_topology(topology_path))
    if as_json:
        click.echo(json.dumps(checked.to_dict(), indent=2))
    else:
        for err in checked.invalid.values():
            console_err.print(f"[bold red]error:[/] {lit(err)}", highlight=False,
                              soft_wrap=True)               # one line per file, for grep
        for warning in checked.warnings.values():
            console_err.print(f"[bold yellow]warning:[/] {lit(warning)}", highlight=False,
                              soft_wrap=True)
        (console_err if checked.invalid else console).print(checked.summary(), markup=False)
    if not checked.ok:
        raise SystemExit(2)


@chaos.command("list")
@click.argument("selector", required=False, shell_complete=experiment_targets)
@click.option("--json", "as_json", is_flag=True, help="Print the list as one JSON document.")
def list_experiments(selector: str | None, as_json: bool) -> None:
    """The catalogue, optionally filtered by tags (fault=network-partition)."""
    rows = [usecases.experiment_dict(exp) for exp in usecases.catalogue(selector)]
    if as_json:
        click.echo(json.dumps({"count": len(rows), "experiments": rows}, indent=2))
        return
    table = Table("experiment", "fault", "component", "severity", "runbook")
    for row in rows:
        table.add_row(*(row[k] for k in ("id", "fault", "component", "severity", "runbook")))
    console.print(table)
    console.print(f"{len(rows)} experiments")


@chaos.command()
@click.option("--json", "as_json", is_flag=True, help="Print the kinds as one JSON document, "
              "with each parameter's schema.")
def faults(as_json: bool) -> None:
    """The fault kinds, their parameters and what they apply to."""
    kinds = usecases.fault_kinds()
    if as_json:
        click.echo(json.dumps({"faults": [k.describe() for k in kinds]}, indent=2))
        return
    table = Table("kind", "category", "applies to", "parameters", "what it does")
    for k in kinds:
        table.add_row(k.name, k.category, ", ".join(k.components) or "any",
                      ", ".join(k.params.model_fields), k.summary)
    console.print(table)


@chaos.command()
@click.option("--reason", default="manual halt", show_default=True)
@click.option("--wait", type=click.FloatRange(0, usecases.MAX_WAIT_S), default=20,
              show_default=True,
              help="Seconds to let running experiments revert their own faults before "
              "reverting for them (the halt ends as soon as they have).")
@topology_option
@state_dir_option
def halt(reason: str, wait: float, topology_path: Path | None, state_dir: Path | None) -> None:
    """Stop every running experiment, revert its faults, and block new ones until resume."""
    platform = local_platform(state_dir, topology_path)
    outcome = usecases.halt(platform, reason, wait)
    stopped = sum(r.signalled for r in outcome.runs)
    console.print(f"halted: {stopped} running experiments stopped, "
                  f"{len(outcome.reverted_here)} faults reverted here; new experiments are "
                  "refused until `controlplane chaos resume`")
    bad = {f.fault_id: f.observed for f in outcome.faults if not f.verified}
    bad.update({i: "still open" for i in outcome.still_open if i not in bad})
    if bad:
        console.print(f"[red]not verified reverted:[/] {lit(bad)}")
        raise SystemExit(1)


@chaos.command()
@topology_option
@state_dir_option
def resume(topology_path: Path | None, state_dir: Path | None) -> None:
    """Allow experiments again after a halt."""
    usecases.resume(local_platform(state_dir, topology_path).workspace)
    console.print("chaos resumed: experiments may run")


@chaos.command()
@topology_option
@state_dir_option
def recover(topology_path: Path | None, state_dir: Path | None) -> None:
    """Revert every fault left open by a crashed run and mark the run aborted. The cluster's
    supervisor does this by itself within seconds, and at each fault's expiry; this is the
    same pass, for faults recorded before faults had an expiry, or with no cluster daemon."""
    report = usecases.recover(local_platform(state_dir, topology_path))
    for run_id, reason in report.aborted.items():
        console.print(f"run {run_id}: aborted ({reason})", highlight=False, markup=False)
    for fault_id, evidence in report.reverted.items():
        style = "green" if evidence.ok else "red"
        console.print(f"fault #{fault_id}: [{style}]{lit(evidence.observed)}[/]",
                      highlight=False)
    for what in report.swept:
        console.print(f"deleted {what} (its fault expired or is no longer open)",
                      highlight=False, markup=False)
    console.print(f"{len(report.reverted)} faults reverted")
    if any(not e.ok for e in report.reverted.values()):
        raise SystemExit(1)


@chaos.command()
@click.option("--json", "as_json", is_flag=True)
@topology_option
@state_dir_option
def status(as_json: bool, topology_path: Path | None, state_dir: Path | None) -> None:
    """Halt state, running experiments and open faults."""
    platform = local_platform(state_dir, topology_path)
    if not as_json and nothing_recorded(platform, "chaos runs"):   # a fresh checkout
        return
    now = usecases.status(platform.workspace)
    data = now.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    console.print(f"halted: {data['halted']} {now.halt.reason or ''}", markup=False)
    console.print(f"running experiments: {len(now.running)}; open faults: "
                  f"{len(now.open_faults)}")
    for f in data["open_faults"]:
        expiry = f", expires {f['expires_at']}" if f["expires_at"] else ""
        console.print(f"  fault #{f['id']} {f['kind']} on {f['target']} ({f['state']}, "
                      f"run {f['run_id']}{expiry})", markup=False)


@chaos.command()
@click.option("--check", is_flag=True, help="Fail if the committed files differ.")
def generate(check: bool) -> None:
    """Write the experiment catalogue from experiments/_catalogue.yaml."""
    from controlplane.chaos.catalogue import generate_catalogue

    changed = generate_catalogue(EXPERIMENTS_DIR, write=not check)
    if check and changed:
        console.print(f"[red]{len(changed)} experiment files differ from the matrix[/]: "
                      + ", ".join(str(p) for p in changed[:10]))
        raise SystemExit(1)
    console.print(f"catalogue {'checked' if check else 'written'}; "
                  f"{len(changed)} files {'differ' if check else 'changed'}")


def _register() -> None:
    from controlplane.cli.chaos_approvals import approvals_command, approve

    chaos.add_command(approve)
    chaos.add_command(approvals_command)


_register()
