"""Options and helpers shared by the commands."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from controlplane.platform import Platform, load_platform, open_platform
from controlplane.topology import DEFAULT_TOPOLOGY, Topology, load_topology

__all__ = [
    "cli_actor",
    "console",
    "console_err",
    "lit",
    "local_platform",
    "nothing_recorded",
    "resolve_state",
    "state_dir_option",
    "topology_option",
]

# Wide enough for the status table when output goes to a file or a CI log.
_WIDTH = None if sys.stdout.isatty() else 160
console = Console(width=_WIDTH)
console_err = Console(stderr=True, width=_WIDTH)

state_dir_option = click.option(
    "--state-dir", type=click.Path(path_type=Path), envvar="CONTROLPLANE_STATE_DIR",
    help="Where the cluster keeps its data, logs and records "
    "[default: ./.state/<topology name>; env CONTROLPLANE_STATE_DIR].")
topology_option = click.option(
    "--topology", "topology_path", type=click.Path(path_type=Path), default=None,
    help=f"Cluster topology file [default: {os.path.relpath(DEFAULT_TOPOLOGY)}].")


def cli_actor(given: str | None) -> str:
    """--as, else who launched this through the service (CONTROLPLANE_ACTOR), else the login."""
    return given or os.environ.get("CONTROLPLANE_ACTOR") or f"operator:{getpass.getuser()}"


def lit(text: object) -> str:
    """User or library text, escaped so rich prints it literally inside our markup (a
    pattern like '^[a-z][a-z0-9-]{1,40}$' would otherwise lose its brackets)."""
    return escape(str(text))


def nothing_recorded(platform: Platform, what: str) -> bool:
    """Whether the state directory holds no records yet (a fresh checkout, or a directory no
    cluster has used), saying so: that is not an error, just nothing to show."""
    if platform.workspace.store_path.exists():
        return False
    console.print(f"no {what} recorded yet in {platform.workspace.root}: nothing has run with "
                  "this state directory (start with `controlplane cluster up`)", markup=False)
    return True


def resolve_state(state_dir: Path | None, topology: Topology | None = None) -> Path:
    if state_dir is not None:
        return state_dir
    name = topology.name if topology else load_topology(DEFAULT_TOPOLOGY).name
    return Path.cwd() / ".state" / name


def local_platform(state_dir: Path | None, topology_path: Path | None = None) -> Platform:
    """The platform of the cluster the options name: the topology's `platform:` when a
    topology is given, else the one its workspace records."""
    if topology_path:
        topology = load_topology(topology_path)
        return load_platform(topology, resolve_state(state_dir, topology), str(topology_path))
    return open_platform(resolve_state(state_dir))
