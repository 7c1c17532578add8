"""`controlplane init DIR` and `controlplane project`: the directory of the user's files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from controlplane.cli.common import console
from controlplane.project import ENV, FOLDERS, SHIPPED, init_project, project_folder, project_root

__all__ = ["init", "project"]


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Write a project directory to edit: a copy of the shipped experiments, runbooks,
    policies, load tests, dashboards and charts. Commands run inside it (or with
    CONTROLPLANE_PROJECT=DIR) use its files."""
    written = init_project(directory)
    for path in written:
        console.print(f"wrote {path}/", highlight=False, markup=False)
    console.print(f"project ready: run commands inside {directory}, or set {ENV}={directory}",
                  highlight=False, markup=False)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the folders as JSON.")
def project(as_json: bool) -> None:
    """Which project directory this command would use, and where each folder comes from."""
    root = project_root()
    folders = {name: str(project_folder(name)) for name in FOLDERS}
    if as_json:
        click.echo(json.dumps({"project": str(root), "shipped": str(SHIPPED),
                               "folders": folders}, indent=2))
        return
    console.print(f"project: {root}" + (" (the shipped defaults)" if root == SHIPPED else ""),
                  highlight=False, markup=False)
    for name, path in folders.items():
        origin = "shipped" if Path(path).is_relative_to(SHIPPED) and root != SHIPPED else ""
        console.print(f"  {name:<12} {path}" + (f"  ({origin})" if origin else ""),
                      highlight=False, markup=False)
