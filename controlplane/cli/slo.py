"""`controlplane slo status`: each SLO's error budget, read from the cluster's Prometheus."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from controlplane.cli.common import console, local_platform, state_dir_option, topology_option
from controlplane.observe.prometheus import PrometheusClient
from controlplane.slo import load_slos
from controlplane.slo.budget import error_budgets

__all__ = ["slo"]


@click.group()
def slo() -> None:
    """Service level objectives and their error budgets."""


def _pct(x: float | None, digits: int = 1) -> str:
    return "no data" if x is None else f"{x * 100:.{digits}f}%"


def _x(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}x"


@slo.command()
@click.option("--slos", "slos_path", type=click.Path(path_type=Path), default=None,
              help="SLO policy file [default: policies/slos.yaml].")
@click.option("--json", "as_json", is_flag=True)
@topology_option
@state_dir_option
def status(slos_path: Path | None, as_json: bool, topology_path: Path | None,
           state_dir: Path | None) -> None:
    """Error budget left per SLO (percent and minutes) and the burn rate now."""
    policy = load_slos(slos_path)
    platform = local_platform(state_dir, topology_path)
    prom = PrometheusClient(platform.instances("prometheus")[0].endpoints["http"], timeout=5)
    budgets = error_budgets(prom, policy)
    if as_json:
        console.print_json(json.dumps([b.__dict__ for b in budgets]))
        return
    table = Table("SLO", "service", "objective", f"bad over {policy.window}", "budget left",
                  "minutes left", "burn 5m", "burn 1h")
    for b in budgets:
        left = _pct(b.remaining_ratio)
        if b.exhausted:
            left = f"[bold red]{left}[/]"
        minutes = "-" if b.remaining_minutes is None else \
            f"{b.remaining_minutes:.2f} of {b.budget_minutes:.2f}"
        table.add_row(b.slo, b.service, _pct(b.objective, 2), _pct(b.error_ratio, 4), left,
                      minutes, _x(b.burn_5m), _x(b.burn_1h))
    console.print(table)
    console.print("burn 1.0x spends the budget exactly over the window; the page alerts fire at "
                  "14.4x (1h and 5m) and 6x (6h and 30m)", highlight=False)
