"""`controlplane dashboards render|push`: write the Grafana dashboards as JSON, or upload
them to a Grafana (a folder, overwrite, the Prometheus datasource by uid)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from controlplane.cli.common import console
from controlplane.dashboards import BOARDS, DASHBOARDS_DIR, check_dir, render_all, write_all
from controlplane.dashboards.push import DEFAULT_FOLDER, push_dashboards
from controlplane.errors import InvalidInput

__all__ = ["dashboards"]


@click.group()
def dashboards() -> None:
    """Grafana dashboards as code."""


@dashboards.command()
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=DASHBOARDS_DIR,
              show_default=True, help="Directory to write <name>.json into.")
@click.option("--check", is_flag=True, help="Fail (exit 1) if --out differs from what would "
                                            "be written; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the files as JSON records.")
def render(out: Path, check: bool, as_json: bool) -> None:
    """Write every dashboard (availability, SLOs, drills, load tests, GameDays)."""
    if check:
        stale = check_dir(out)
        if as_json:
            click.echo(json.dumps({"stale": stale}, indent=2))
        elif stale:
            console.print("out of date: " + ", ".join(stale) + "; run `controlplane "
                          "dashboards render`", markup=False)
        if stale:
            raise SystemExit(1)
        return
    paths = write_all(out)
    records = [{"path": str(p), "panels": len(json.loads(p.read_text())["panels"])}
               for p in paths]
    if as_json:
        click.echo(json.dumps({"dashboards": records}, indent=2))
        return
    for r in records:
        console.print(f"wrote {r['path']} ({r['panels']} panels)", markup=False)


@dashboards.command()
@click.option("--url", required=True, envvar="GRAFANA_URL",
              help="Grafana's address, e.g. http://127.0.0.1:3000 [env: GRAFANA_URL].")
@click.option("--token", required=True, envvar="GRAFANA_TOKEN",
              help="A service account token, Editor role or more [env: GRAFANA_TOKEN].")
@click.option("--folder", default=DEFAULT_FOLDER, show_default=True,
              help="Folder title; created if Grafana has none of that title.")
@click.option("--datasource-uid", default=None,
              help="Pin every panel to this Prometheus datasource [default: the dashboard's "
                   "datasource variable, Grafana's default Prometheus].")
@click.option("--only", multiple=True, type=click.Choice(list(BOARDS)),
              help="Push only these dashboards (repeatable) [default: all].")
@click.option("--json", "as_json", is_flag=True, help="Print what was saved as JSON records.")
def push(url: str, token: str, folder: str, datasource_uid: str | None, only: tuple[str, ...],
         as_json: bool) -> None:
    """Upload the dashboards, overwriting those of the same uid."""
    if datasource_uid is not None and not datasource_uid.strip():
        raise InvalidInput("is empty", field="--datasource-uid",
                           fix="give the uid of a Prometheus datasource, or leave it out")
    documents = {name.removesuffix(".json"): json.loads(text)
                 for name, text in render_all().items()
                 if not only or name.removesuffix(".json") in only}
    pushed = push_dashboards(url, token, documents, folder=folder,
                             datasource_uid=datasource_uid)
    if as_json:
        click.echo(json.dumps({"dashboards": [p.as_dict() for p in pushed]}, indent=2))
        return
    for p in pushed:
        console.print(f"saved {p.name} (uid {p.uid}, version {p.version}) in folder "
                      f"{p.folder_uid}: {p.url or '-'}", markup=False)
