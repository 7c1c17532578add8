"""`controlplane chaos approve REQUEST` and `controlplane chaos approvals`: the two-person rule
on experiments under a profile that requires approval (see application/chaos_approvals)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from controlplane.application import chaos_approvals as usecases
from controlplane.cli.common import (
    cli_actor,
    console,
    local_platform,
    nothing_recorded,
    state_dir_option,
    topology_option,
)

__all__ = ["approvals_command", "approve"]


@click.command()
@click.argument("request_id", type=int)
@click.option("--reject", is_flag=True)
@click.option("--reason", default=None)
@click.option("--as", "actor", default=None,
              help="The approver: a registered user holding chaos:approve.")
@click.option("--totp", "totp_code", default=None, help="The approver's current TOTP code.")
@topology_option
@state_dir_option
def approve(request_id: int, reject: bool, reason: str | None, actor: str | None,
            totp_code: str | None, topology_path: Path | None, state_dir: Path | None) -> None:
    """Approve (or --reject) an experiment waiting for approval."""
    platform = local_platform(state_dir, topology_path)
    with platform.workspace.store() as store:
        done = usecases.decide(store, request_id, reject=reject, actor=cli_actor(actor),
                               reason=reason, totp_code=totp_code)
    if done.decision == "pending":
        console.print(f"chaos approval {request_id}: approved by {done.actor}; {done.have} of "
                      f"{done.needed} approvals, waiting for another person", markup=False)
        return
    console.print(f"chaos approval {request_id}: {done.decision}d by {done.actor}",
                  markup=False)


@click.command("approvals")
@click.option("--state", type=click.Choice(["waiting", "approved", "rejected", "released"]),
              default=None)
@click.option("--json", "as_json", is_flag=True)
@topology_option
@state_dir_option
def approvals_command(state: str | None, as_json: bool, topology_path: Path | None,
                      state_dir: Path | None) -> None:
    """Experiments asked for under a profile that requires approval, newest first."""
    platform = local_platform(state_dir, topology_path)
    if not as_json and nothing_recorded(platform, "chaos approvals"):
        return
    with platform.workspace.store() as store:
        found = store.chaos_approvals(state=state)
        if as_json:
            click.echo(json.dumps({"approvals": [usecases.approval_document(store, a)
                                                 for a in found]}, indent=2))
            return
        for a in found:
            console.print(f"{a.id:>4} {a.state:<9} {a.target} under {Path(a.policy).name}, "
                          f"asked by {a.requested_by}"
                          + (f", decided by {a.decided_by}" if a.decided_by else ""),
                          markup=False, highlight=False)
