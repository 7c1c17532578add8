"""`controlplane load ...`: Locust load runs with SLO gates, calibration and the capacity plan.

Exit codes of `load run`: 0 passed, 1 a gate failed, 2 bad input (profile, gates file,
locustfile), 4 invalid (overloaded generator, missing worker, target users never reached,
an experiment that injected nothing), 130 interrupted.
"""

from __future__ import annotations

import json
import resource
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click
from rich.live import Live

from controlplane.application.events import Event
from controlplane.application.load import run_load, stored_result
from controlplane.cli.common import (
    console,
    console_err,
    lit,
    local_platform,
    nothing_recorded,
    state_dir_option,
    topology_option,
)
from controlplane.cli.completion import profile_names
from controlplane.errors import InvalidInput
from controlplane.load import calibrations
from controlplane.load.calibrations import BasisChoice
from controlplane.load.gates import load_gate_policy
from controlplane.load.plan import make_plan
from controlplane.load.profiles import Profile, load_profile, load_profiles
from controlplane.load.report import calibration_table, outcome_table, plan_table, progress_text
from controlplane.load.results import RunOutcome
from controlplane.load.target import gateway_url, loopback_url
from controlplane.platform import Platform
from controlplane.store import Store
from controlplane.store.load_runs import LoadRecords

__all__ = ["load"]


@click.group()
def load() -> None:
    """Locust load runs against the cluster: profiles, SLO gates, calibration, the plan."""


def _target(platform: Platform, host: str | None) -> str:
    return loopback_url(host) if host else gateway_url(platform)


def _out_dir(platform: Platform, out: Path | None, kind: str, name: str) -> Path:
    if out is not None:
        return out.resolve()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return platform.workspace.root / "load" / kind / f"{stamp}-{name}"


def _store(platform: Platform) -> Store | nullcontext[None]:
    workspace = platform.workspace
    return Store(workspace.store_path) if workspace.root.is_dir() else nullcontext()


profiles_option = click.option(
    "--profiles", "profiles_file", type=click.Path(path_type=Path),
    help="Profiles file [default: loadtests/profiles.yaml].")


@load.command("profiles")
@profiles_option
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document on stdout, nothing else.")
def list_profiles(profiles_file: Path | None, as_json: bool) -> None:
    """The profiles in loadtests/profiles.yaml."""
    profiles = sorted(load_profiles(profiles_file).items())
    if as_json:
        click.echo(json.dumps({"profiles": [{"name": name, **p.model_dump(mode="json"),
                                             "mode": p.resolved_mode()}
                                            for name, p in profiles]}, indent=2))
        return
    for name, p in profiles:
        console.print(f"[bold]{name:<12}[/] {p.users:>6} users  {p.duration_s:>5g} s  "
                      f"{p.resolved_mode():<11} gates {p.gates:<10} {p.description}",
                      highlight=False)


@load.command("run")
@click.argument("profile", shell_complete=profile_names)
@click.option("--users", type=int, help="Peak users [default: the profile's].")
@click.option("--duration", type=float, help="Seconds; the run stops by itself after this.")
@click.option("--spawn-rate", type=float, help="Users started per second.")
@click.option("--mode", type=click.Choice(["local", "distributed"]),
              help="local: Locust in one engine process; distributed: a master and workers.")
@click.option("--workers", type=int, help="Distributed: worker processes [default: cores].")
@click.option("--workers-on", "pool", default="local", show_default=True,
              help="Where workers run (local; kubernetes later).")
@click.option("--host", help="Target URL (loopback only) [default: the cluster's gateway].")
@click.option("--out", type=click.Path(path_type=Path),
              help="Results directory [default: <state dir>/load/runs/<time>-<profile>].")
@click.option("--gates", "gates_file", type=click.Path(path_type=Path),
              help="Gates file [default: policies/load-gates.yaml].")
@click.option("--gate-policy", help="Policy in the gates file [default: the profile's].")
@click.option("--chaos", "chaos_file", type=click.Path(path_type=Path),
              help="A Chaos Toolkit experiment to run during the load.")
@click.option("--chaos-at", type=float, help="Seconds after the load starts to begin the "
              "experiment [default: a third of the duration].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@profiles_option
@topology_option
@state_dir_option
def run(profile: str, users: int | None, duration: float | None, spawn_rate: float | None,
        mode: str | None, workers: int | None, pool: str, host: str | None, out: Path | None,
        gates_file: Path | None, gate_policy: str | None, chaos_file: Path | None,
        chaos_at: float | None, as_json: bool, profiles_file: Path | None,
        topology_path: Path | None, state_dir: Path | None) -> None:
    """Run PROFILE against the cluster; exit non-zero with the reason when a gate fails."""
    from controlplane.load.run import ChaosPlan, RunRequest

    chosen = load_profile(profile, profiles_file)
    policy_name = gate_policy or chosen.gates
    gates = load_gate_policy(policy_name, gates_file)
    platform = local_platform(state_dir, topology_path)
    target = _target(platform, host)
    size = _size(chosen, users, duration, spawn_rate, mode, workers)
    out_dir = _out_dir(platform, out, "runs", profile)
    chaos = None
    if chaos_file is not None:
        chaos = ChaosPlan(chaos_file.resolve(), size["duration_s"] / 3 if chaos_at is None
                          else chaos_at, _chaos_vars(platform, target, out_dir))
    request = RunRequest(profile=chosen, host=target, out_dir=out_dir, gates=gates,
                         gate_policy=policy_name, pool=pool, chaos=chaos, **size)
    console_err.print(f"load run '{profile}': {size['users']} users, {size['duration_s']:g} s, "
                      f"{size['mode']}" + (f" ({size['workers']} workers)"
                                           if size["mode"] == "distributed" else "")
                      + f" -> {target}; results in {out_dir}", highlight=False)
    params = {**size, "host": target, "gates": policy_name,
              "chaos": str(chaos_file) if chaos_file else None}
    outcome = _execute_with_progress(platform, request, params)
    _show(outcome, as_json)
    if outcome.exit_code:
        raise SystemExit(outcome.exit_code)


def _chaos_vars(platform: Platform, target: str, out_dir: Path) -> dict[str, str]:
    """Configuration variables for the hosted experiment: ours (`state_dir`) and the ones the
    chaos catalogue (controlplane.chaos) reads (`controlplane_state_dir`)."""
    state = str(platform.workspace.root)
    return {"state_dir": state, "controlplane_state_dir": state, "gateway_url": target,
            "out_dir": str(out_dir)}


def _size(p: Profile, users: int | None, duration: float | None, spawn_rate: float | None,
          mode: str | None, workers: int | None) -> dict[str, Any]:
    for name, value in (("--users", users), ("--duration", duration),
                        ("--spawn-rate", spawn_rate), ("--workers", workers)):
        if value is not None and value <= 0:
            raise InvalidInput("must be positive", field=name, value=value)
    chosen_mode = mode or p.resolved_mode()
    return {"users": users or p.users, "duration_s": duration or p.duration_s,
            "spawn_rate": spawn_rate or p.spawn_rate, "mode": chosen_mode,
            "workers": (workers or p.worker_count()) if chosen_mode == "distributed" else 0}


def _execute_with_progress(platform: Platform, request: Any, params: dict[str, Any]
                           ) -> RunOutcome:
    terminal = console_err.is_terminal
    live = Live(console=console_err, refresh_per_second=4, transient=True) if terminal \
        else nullcontext()
    with live:
        def render(event: Event) -> None:
            if event.kind == "tick":
                text = progress_text(event.data)
                if terminal:
                    live.update(text)   # type: ignore[union-attr]
                elif int(event.data["elapsed"]) % 5 == 0:
                    console_err.print(text, highlight=False)
            else:
                console_err.print(f"[dim]{lit(event.message)}[/]", highlight=False)
        return run_load(platform.workspace, request, params, render).outcome


def _show(outcome: RunOutcome, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(stored_result(outcome), indent=2))
        return
    console.print(outcome_table(outcome))
    reasons = outcome.reasons() or ([outcome.error["message"]] if outcome.error else [])
    if outcome.exit_code and reasons:
        console_err.print(f"[bold red]{outcome.verdict}:[/] " + lit("; ".join(reasons)),
                          highlight=False)


@load.command("runs")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document on stdout, nothing else.")
@topology_option
@state_dir_option
def list_runs(limit: int, as_json: bool, topology_path: Path | None,
              state_dir: Path | None) -> None:
    """Recent load runs with their verdict."""
    platform = local_platform(state_dir, topology_path)
    if as_json and not platform.workspace.store_path.exists():
        click.echo(json.dumps({"runs": []}))
        return
    if nothing_recorded(platform, "load runs"):
        return
    with Store(platform.workspace.store_path) as store:
        rows = LoadRecords(store).list_runs(limit)
    if as_json:
        click.echo(json.dumps({"runs": [r.__dict__ for r in rows]}, indent=2, default=str))
        return
    for r in rows:
        hdr = ((r.result or {}).get("summary") or {}).get("hdr") or {}
        p99 = (hdr.get("latency_ms") or {}).get("p99")
        console.print(f"#{r.id:<4} {r.profile:<12} {r.mode:<11} {r.state:<8} "
                      f"p99 {p99 if p99 is not None else '-'} ms  {r.out_dir}", highlight=False)


@load.command("show")
@click.argument("run_id", type=int)
@topology_option
@state_dir_option
def show_run(run_id: int, topology_path: Path | None, state_dir: Path | None) -> None:
    """One load run's record, as JSON."""
    platform = local_platform(state_dir, topology_path)
    with Store(platform.workspace.store_path) as store:
        row = LoadRecords(store).get_run(run_id)
    if row is None:
        raise InvalidInput("no such load run", field="RUN_ID", value=run_id,
                           fix="See `controlplane load runs`")
    click.echo(json.dumps(row.__dict__, indent=2, default=str))


@load.command("calibrate")
@click.argument("profile", shell_complete=profile_names)
@click.option("--steps", default="100,200,400,800,1600", show_default=True,
              help="User counts to try, in order, one short run each.")
@click.option("--step-duration", type=float, default=15, show_default=True)
@click.option("--ceiling", type=float, default=80, show_default=True,
              help="CPU ceiling (%) of one worker.")
@click.option("--host", help="Target URL (loopback only) [default: the cluster's gateway].")
@click.option("--out", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@profiles_option
@topology_option
@state_dir_option
def calibrate_cmd(profile: str, steps: str, step_duration: float, ceiling: float,
                  host: str | None, out: Path | None, as_json: bool, profiles_file: Path | None,
                  topology_path: Path | None, state_dir: Path | None) -> None:
    """Measure the users and req/s one worker sustains below the CPU ceiling, and the memory
    per user, on this machine."""
    from controlplane.load.capacity import calibrate

    chosen = load_profile(profile, profiles_file)
    counts = _steps(steps)
    if not 0 < ceiling <= 100:
        raise InvalidInput("must be above 0 and at most 100", field="--ceiling", value=ceiling)
    platform = local_platform(state_dir, topology_path)
    target = _target(platform, host)
    out_dir = _out_dir(platform, out, "calibrations", profile)
    result = calibrate(chosen, target, out_dir, counts, step_s=step_duration,
                       ceiling_pct=ceiling,
                       note=lambda m: console_err.print(f"[dim]{lit(m)}[/]", highlight=False))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "calibration.json").write_text(json.dumps(result, indent=2))
    with _store(platform) as store:
        if store is not None:
            LoadRecords(store).add_calibration(profile, result)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        console.print(calibration_table(result))
        console.print(f"calibration: {out_dir / 'calibration.json'}")


def _steps(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput("must be user counts separated by commas", field="--steps",
                           value=text) from None
    if not counts or any(c <= 0 for c in counts) or counts != sorted(set(counts)):
        raise InvalidInput("must be positive and increasing", field="--steps", value=text)
    return counts


@load.command("plan")
@click.option("--users", type=int, required=True, help="The user count to plan for.")
@click.option("--profile", required=True, help="The calibrated profile.",
              shell_complete=profile_names)
@click.option("--calibration", type=click.Path(path_type=Path),
              help="A calibration.json [default: the latest measured here, else the one shipped "
              "in loadtests/calibration/].")
@click.option("--json", "as_json", is_flag=True)
@profiles_option
@topology_option
@state_dir_option
def plan_cmd(users: int, profile: str, calibration: Path | None, as_json: bool,
             profiles_file: Path | None, topology_path: Path | None,
             state_dir: Path | None) -> None:
    """Workers, cores, memory, masters and sockets for a run of --users, from a calibration
    (--calibration FILE, else the latest measured here, else the one shipped for the profile);
    it says which, and labels what is extrapolated."""
    if users <= 0:
        raise InvalidInput("must be positive", field="--users", value=users)
    load_profile(profile, profiles_file)
    choice = _basis(profile, calibration, local_platform(state_dir, topology_path),
                    shipped_ok=profiles_file is None)
    plan = make_plan(users, choice.basis, ephemeral_ports=_ephemeral_ports(),
                     fd_limit_here=resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    if as_json:
        click.echo(json.dumps(plan.to_dict() | {"basis_source": choice.to_dict()}, indent=2))
    else:
        console.print(plan_table(plan, choice.describe()))


def _basis(profile: str, path: Path | None, platform: Platform, *,
           shipped_ok: bool) -> BasisChoice:
    """--calibration FILE, else the latest measured here, else the shipped one (only for the
    project's own profiles: a --profiles file's profile of the same name is another load)."""
    if path is not None:
        return calibrations.from_file(path, profile)
    if platform.workspace.root.is_dir():
        with Store(platform.workspace.store_path) as store:
            found = LoadRecords(store).latest_calibration(profile)
        if found is not None:
            return calibrations.measured_here(found)
    choice = calibrations.shipped(profile) if shipped_ok else None
    if choice is None:
        raise calibrations.no_calibration(profile)
    return choice


def _ephemeral_ports() -> int:
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return 28232
    return high - low + 1
