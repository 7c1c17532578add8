"""`controlplane policies ...`: turn SLO policies into Prometheus rules, or export them as
OpenSLO v1."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import click

from controlplane.cli.common import console
from controlplane.errors import InvalidInput
from controlplane.host.tools import require
from controlplane.project import PACKAGED, project_root
from controlplane.runbooks.links import DEFAULT_BASE_URL, RUNBOOKS_DIR, runbook_urls
from controlplane.slo import load_slos, render_rules
from controlplane.slo.model import DEFAULT_SLOS
from controlplane.slo.openslo import dump_openslo

__all__ = ["GENERATED", "policies", "rules_path"]

# In the project; outside any project, an installed package is no place to write: the current
# directory instead (a checkout keeps its generated rules under policies/ as before).
GENERATED = (Path("slo-rules.yml") if project_root() == PACKAGED
             else project_root() / "policies" / "generated" / "slo-rules.yml")


@click.group()
def policies() -> None:
    """SLOs and alert policies."""


@policies.command()
@click.option("--slos", "slos_path", type=click.Path(path_type=Path), default=None,
              help="SLO policy file [default: policies/slos.yaml].")
@click.option("--out", type=click.Path(path_type=Path), default=GENERATED, show_default=True)
@click.option("--check", is_flag=True, help="Fail if --out differs from what would be written.")
@click.option("--runbooks", "runbooks_dir", type=click.Path(path_type=Path),
              default=RUNBOOKS_DIR, show_default=True,
              help="Runbooks whose trigger alerts get a runbook_url annotation.")
@click.option("--runbook-base-url", default=DEFAULT_BASE_URL, show_default=True,
              envvar="CONTROLPLANE_RUNBOOK_BASE_URL",
              help="The control plane's URL as on-call staff reach it: runbook_url is "
                   "<base>/api/v1/runbooks/<name> [env: CONTROLPLANE_RUNBOOK_BASE_URL].")
def render(slos_path: Path | None, out: Path, check: bool, runbooks_dir: Path,
           runbook_base_url: str) -> None:
    """Write Prometheus recording and alerting rules, checked by promtool. An --out that is a
    directory gets slo-rules.yml in it. Each alert a runbook starts links to it
    (`runbook_url`)."""
    out = rules_path(out)
    text = render_rules(load_slos(slos_path), runbook_urls(runbook_base_url, runbooks_dir))
    if check:
        _check(out, text)
        return
    tmp = out.with_name(f".{out.name}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text)
    result = subprocess.run([require("promtool"), "check", "rules", str(tmp)],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        tmp.unlink()
        raise InvalidInput(f"promtool rejects the generated rules: {result.stdout}"
                           f"{result.stderr}", source=str(slos_path or DEFAULT_SLOS))
    os.replace(tmp, out)
    console.print(f"wrote {out} ({text.count('- record:')} recording rules, "
                  f"{text.count('- alert:')} alerts); promtool check rules: OK", markup=False)


@policies.command()
@click.option("--slos", "slos_path", type=click.Path(path_type=Path), default=None,
              help="SLO policy file, ours or OpenSLO [default: policies/slos.yaml].")
@click.option("--openslo", is_flag=True, required=True,
              help="As OpenSLO v1 `kind: SLO` documents (the only format offered).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="File to write [default: stdout].")
def export(slos_path: Path | None, openslo: bool, out: Path | None) -> None:
    """Write the SLO policy as OpenSLO v1, one YAML document per SLO; `load_slos` (and so
    every command taking --slos) reads such a file back."""
    text = dump_openslo(load_slos(slos_path))
    if out is None:
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    console.print(f"wrote {out} ({text.count('kind: SLO')} OpenSLO v1 SLOs)", markup=False)


def rules_path(out: Path) -> Path:
    """The rules file: `out` itself, or slo-rules.yml inside it when it is a directory."""
    return out / GENERATED.name if out.is_dir() else out


def _check(out: Path, text: str) -> None:
    try:
        current = out.read_text()
    except FileNotFoundError:
        current = None
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"cannot read the rules file: {err}", source=str(out),
                           fix="Pass the rules file, or the directory that holds it, "
                           "with --out") from None
    if current != text:
        raise InvalidInput("the rules differ from what the SLO policy generates"
                           if current is not None else "the rules file does not exist",
                           source=str(out), fix="Run `controlplane policies render`")
    console.print(f"{out} is up to date", markup=False)
