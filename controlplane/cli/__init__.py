"""`controlplane`: the command line, a thin door onto the library."""

from __future__ import annotations

import sys

import click

from controlplane.cli.access import audit, tokens, users
from controlplane.cli.chaos import chaos
from controlplane.cli.cluster import cluster
from controlplane.cli.common import console_err, lit
from controlplane.cli.dashboards import dashboards
from controlplane.cli.demo import demo
from controlplane.cli.drill import drill, drills
from controlplane.cli.gameday import gameday
from controlplane.cli.load import load
from controlplane.cli.policies import policies
from controlplane.cli.project import init, project
from controlplane.cli.runbook import runbook
from controlplane.cli.serve import serve
from controlplane.cli.slo import slo
from controlplane.errors import ControlPlaneError
from controlplane.project import check_project

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="controlplane")
def cli() -> None:
    """Resilience control plane for securities trading clusters."""


cli.add_command(cluster)
cli.add_command(chaos)
cli.add_command(serve)
cli.add_command(drill)
cli.add_command(drills)
cli.add_command(demo)
cli.add_command(dashboards)
cli.add_command(gameday)
cli.add_command(load)
cli.add_command(policies)
cli.add_command(runbook)
cli.add_command(slo)
cli.add_command(init)
cli.add_command(project)
cli.add_command(users)
cli.add_command(tokens)
cli.add_command(audit)


def main(argv: list[str] | None = None) -> None:
    try:
        check_project()
        cli.main(args=argv, prog_name="controlplane", standalone_mode=False)
    except click.exceptions.Abort:
        console_err.print("aborted")
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except ControlPlaneError as err:
        console_err.print(f"[bold red]error:[/] {lit(err)}", highlight=False)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        console_err.print("interrupted")
        sys.exit(130)
