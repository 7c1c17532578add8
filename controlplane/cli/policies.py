"""`controlplane policies ...`: turn SLO policies into Prometheus rules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import click

from controlplane.cli.common import console
from controlplane.errors import InvalidInput
from controlplane.platform.local.binaries import require
from controlplane.slo import load_slos, render_rules
from controlplane.slo.model import DEFAULT_SLOS

__all__ = ["GENERATED", "policies"]

GENERATED = DEFAULT_SLOS.parent / "generated" / "slo-rules.yml"


@click.group()
def policies() -> None:
    """SLOs and alert policies."""


@policies.command()
@click.option("--slos", "slos_path", type=click.Path(path_type=Path), default=None,
              help="SLO policy file [default: policies/slos.yaml].")
@click.option("--out", type=click.Path(path_type=Path), default=GENERATED, show_default=True)
@click.option("--check", is_flag=True, help="Fail if --out differs from what would be written.")
def render(slos_path: Path | None, out: Path, check: bool) -> None:
    """Write Prometheus recording and alerting rules, checked by promtool."""
    text = render_rules(load_slos(slos_path))
    if check:
        if not out.exists() or out.read_text() != text:
            raise InvalidInput("the rules differ from what the SLO policy generates",
                               source=str(out), fix="Run `controlplane policies render`")
        console.print(f"{out} is up to date")
        return
    tmp = out.with_suffix(".tmp.yml")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text)
    result = subprocess.run([require("promtool"), "check", "rules", str(tmp)],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        tmp.unlink()
        raise InvalidInput(f"promtool rejects the generated rules: {result.stdout}"
                           f"{result.stderr}", source=str(slos_path or DEFAULT_SLOS))
    shutil.move(tmp, out)
    console.print(f"wrote {out} ({text.count('- record:')} recording rules, "
                  f"{text.count('- alert:')} alerts); promtool check rules: OK")
