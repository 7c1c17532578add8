"""`controlplane cluster ...`: start, stop, inspect and act on the local cluster."""

from __future__ import annotations

import json
from pathlib import Path

import click

from controlplane.application.cluster import (
    act_on_instance,
    scale_component,
    start_cluster,
    stop_cluster,
)
from controlplane.cli.common import (
    console,
    console_err,
    local_platform,
    resolve_state,
    state_dir_option,
    topology_option,
)
from controlplane.cli.render import status_table
from controlplane.platform import load_platform
from controlplane.topology import DEFAULT_TOPOLOGY, load_topology, with_alertmanager

__all__ = ["cluster"]


@click.group()
def cluster() -> None:
    """Run the reference trading cluster on this machine."""


@cluster.command()
@topology_option
@state_dir_option
@click.option("--ports", type=click.Choice(["topology", "auto"]), default="topology",
              show_default=True, help="'auto' picks a free port for every component.")
@click.option("--timeout", type=float, default=300, show_default=True,
              help="Seconds to wait for every component to be ready.")
@click.option("--alertmanager", "with_am", is_flag=True,
              help="Put Alertmanager between Prometheus and the control plane (grouping, "
              "silences, inhibition; runbook notifications go to its receivers).")
def up(topology_path: Path | None, state_dir: Path | None, ports: str, timeout: float,
       with_am: bool) -> None:
    """Start every component, in dependency order, and wait until all are ready."""
    topology = load_topology(topology_path)
    if with_am:
        topology = with_alertmanager(topology)
    platform = load_platform(topology, resolve_state(state_dir, topology),
                             str(topology_path or DEFAULT_TOPOLOGY))
    with console_err.status("starting cluster...") as status:
        info = start_cluster(platform, topology, lambda event: status.update(event.message),
                             all_auto_ports=ports == "auto", timeout=timeout)
    console.print(status_table(info))
    console.print(f"state directory: {platform.workspace.root}")


@cluster.command()
@topology_option
@state_dir_option
@click.option("--purge", is_flag=True, help="Also delete the cluster's data and logs.")
def down(topology_path: Path | None, state_dir: Path | None, purge: bool) -> None:
    """Stop every component; nothing is left running."""
    platform = local_platform(state_dir, topology_path)
    with console_err.status("stopping cluster..."):
        report = stop_cluster(platform, purge=purge)
    if report.swept:
        console.print(f"swept {len(report.swept)} leftover processes:")
        for proc in report.swept:
            console.print(f"  {proc}")
    console.print("cluster stopped" + (" and purged" if purge else ""))


@cluster.command()
@topology_option
@state_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(topology_path: Path | None, state_dir: Path | None, as_json: bool) -> None:
    """Health, role and address of every instance."""
    info = local_platform(state_dir, topology_path).info()
    if as_json:
        click.echo(json.dumps({"name": info.name, "phase": info.phase,
                               "instances": [i.to_dict() for i in info.instances]}, indent=2))
        return
    console.print(status_table(info))


def _instance_command(action: str, help_text: str):
    """`cluster ACTION INSTANCE` on the workspace's platform, through the contract's intents
    (`application.cluster.INSTANCE_ACTIONS`: pause is a freeze, resume a thaw)."""
    @cluster.command(name=action, help=help_text)
    @click.argument("instance")
    @topology_option
    @state_dir_option
    def command(instance: str, topology_path: Path | None, state_dir: Path | None,
                signal: str = "KILL") -> None:
        chosen = "terminate" if action == "kill" and signal.upper() == "TERM" else action
        result = act_on_instance(local_platform(state_dir, topology_path), chosen, instance)
        console.print(f"{result.id}: {result.state} ({result.handle or 'not running'})")
    return command


_instance_command("stop", "Stop an instance gracefully; it stays down until `start`.")
_instance_command("start", "Start a stopped, exited or crashed instance.")
_instance_command("pause", "Freeze an instance: a hang, not a crash (undo with `resume`).")
_instance_command("resume", "Thaw a paused instance.")
click.option("--signal", type=click.Choice(["KILL", "TERM"], case_sensitive=False),
             default="KILL", show_default=True,
             help="KILL: a crash; TERM: a shutdown it did not ask for (as `terminate`).")(
    _instance_command("kill", "Crash an instance; its restart policy decides whether it "
                      "returns."))
_instance_command("terminate", "Shut an instance down without its asking (a graceful kill); "
                  "its restart policy applies.")


@cluster.command()
@click.argument("component")
@click.option("--in", "scale_in", is_flag=True,
              help="Scale in: stop and forget the highest-numbered instance (never the last).")
@topology_option
@state_dir_option
def scale(component: str, scale_in: bool, topology_path: Path | None,
          state_dir: Path | None) -> None:
    """One more instance of a component (gateway, marketdata, matcher), or one fewer with
    --in. The matcher's symbols are rebalanced under a new shard-map epoch, without dropping
    orders."""
    platform = local_platform(state_dir, topology_path)
    inst = scale_component(platform, component, scale_in)
    if scale_in:
        console.print(f"stopped and removed {inst.id}")
        return
    console.print(f"started {inst.id} at {', '.join(inst.endpoints.values())}")


@cluster.command()
@click.argument("instance")
@click.option("-n", "lines", default=40, show_default=True)
@topology_option
@state_dir_option
def logs(instance: str, lines: int, topology_path: Path | None, state_dir: Path | None) -> None:
    """The last lines of an instance's log."""
    platform = local_platform(state_dir, topology_path)
    info = platform.info()
    try:
        path = Path(info.instance(instance).log)
    except KeyError:
        raise click.BadParameter(f"no instance {instance!r}; known: "
                                 f"{', '.join(i.id for i in info.instances)}") from None
    if not path.exists():
        raise click.BadParameter(f"no log for {instance!r} yet at {path}")
    click.echo("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
