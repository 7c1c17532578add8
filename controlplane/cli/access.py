"""`controlplane users|tokens|audit`: who may call the service, and the record of who did what.

They act on the store of a state directory directly (whoever can read that directory holds the
keys anyway), and each change is audited as `cli:<os user>`. `list` and `verify` take
`--json`: one JSON document on stdout and nothing else."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from controlplane.application import access
from controlplane.cli.common import console, lit, resolve_state, state_dir_option
from controlplane.errors import InvalidInput
from controlplane.security import totp
from controlplane.security.checkpoints import write_checkpoint
from controlplane.security.roles import PEOPLE_ROLES, roles
from controlplane.store import Store, db_path

__all__ = ["audit", "tokens", "users"]

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON document on stdout, nothing else.")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _store(state_dir: Path | None) -> tuple[Store, Path]:
    root = resolve_state(state_dir)
    root.mkdir(parents=True, exist_ok=True)
    return Store(db_path(root)), root


def _echo(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, default=str))


@click.group()
def users() -> None:
    """People who may call the control-plane service, each with one role."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, help=f"One of {', '.join(PEOPLE_ROLES)} (or another "
              "role of policies/roles.yaml).")
@click.option("--totp/--no-totp", "with_totp", default=True, show_default=True,
              help="Give the user a TOTP second factor (shown once, as an otpauth:// URI for "
              "an authenticator app).")
@state_dir_option
def users_add(name: str, role: str, with_totp: bool, state_dir: Path | None) -> None:
    """Add user NAME with ROLE."""
    store, _ = _store(state_dir)
    with store:
        user, secret = access.add_user(store, roles(), name, role, with_totp, _actor())
    console.print(f"added {user.name} ({user.role})", markup=False)
    if secret:
        console.print("TOTP secret, shown once; add it to an authenticator app:", markup=False)
        console.print(f"  {totp.provisioning_uri(user.name, secret)}", markup=False)
    console.print(f"next: controlplane tokens create --user {user.name}", markup=False)


@users.command("list")
@json_option
@state_dir_option
def users_list(as_json: bool, state_dir: Path | None) -> None:
    """The users, their roles and whether they have a second factor."""
    store, _ = _store(state_dir)
    with store:
        document = access.users_document(store)
    if as_json:
        _echo(document)
        return
    table = Table("user", "role", "totp", "created", "disabled")
    for u in document["users"]:
        table.add_row(lit(u["name"]), u["role"], "yes" if u["totp"] else "no",
                      u["created_at"], u["disabled_at"] or "")
    console.print(table)


@users.command("disable")
@click.argument("name")
@state_dir_option
def users_disable(name: str, state_dir: Path | None) -> None:
    """Disable NAME: its tokens stop working at once. The user stays in the audit trail."""
    store, _ = _store(state_dir)
    with store:
        access.disable_user(store, name, _actor())
    console.print(f"disabled {name}", markup=False)


@click.group()
def tokens() -> None:
    """API tokens: `Authorization: Bearer <token>` on every request to the service."""


@tokens.command("create")
@click.option("--user", "user", required=True, help="Whose token it is (its role applies).")
@click.option("--ttl", default="90d", show_default=True,
              help="How long it works: 30m, 12h, 90d (at most 730d).")
@click.option("--label", default="", help="What it is for, shown in `tokens list`.")
@json_option
@state_dir_option
def tokens_create(user: str, ttl: str, label: str, as_json: bool,
                  state_dir: Path | None) -> None:
    """Create a token for USER; it is printed once, and stored only as a hash."""
    ttl_s = access.parse_duration(ttl, "--ttl")
    store, _ = _store(state_dir)
    with store:
        record, text = access.create_token(store, user, ttl_s, label, _actor())
    if as_json:
        _echo({"id": record.id, "user": record.user, "token": text,
               "expires_at": record.expires_at})
        return
    console.print(f"token {record.id} for {record.user}, expires "
                  f"{datetime.fromtimestamp(record.expires_at).isoformat(timespec='minutes')}"
                  "; shown once:", markup=False)
    click.echo(text)


@tokens.command("list")
@click.option("--user", default=None, help="Only this user's tokens.")
@json_option
@state_dir_option
def tokens_list(user: str | None, as_json: bool, state_dir: Path | None) -> None:
    """The tokens (never their secrets): active, expired or revoked."""
    store, _ = _store(state_dir)
    with store:
        document = access.tokens_document(store, user)
    if as_json:
        _echo(document)
        return
    table = Table("id", "user", "state", "expires", "last used", "label")
    for t in document["tokens"]:
        table.add_row(t["id"], lit(t["user"]), t["state"], t["expires_at"],
                      t["last_used_at"] or "", lit(t["label"]))
    console.print(table)


@tokens.command("revoke")
@click.argument("token_id")
@state_dir_option
def tokens_revoke(token_id: str, state_dir: Path | None) -> None:
    """Revoke TOKEN_ID (the id `tokens list` shows): it stops working at once."""
    store, _ = _store(state_dir)
    with store:
        access.revoke_token(store, token_id, _actor())
    console.print(f"revoked {token_id}", markup=False)


@click.group()
def audit() -> None:
    """The audit trail: every mutating request, login failure and automated action."""


@audit.command("verify")
@json_option
@state_dir_option
def audit_verify(as_json: bool, state_dir: Path | None) -> None:
    """Check the hash chain and its signed checkpoints; exit 1 naming the first bad entry."""
    store, root = _store(state_dir)
    with store:
        document = access.audit_document(store, root)
    if as_json:
        _echo(document)
    elif document["ok"]:
        console.print(f"audit trail intact: {document['entries']} entries", markup=False)
    else:
        bad = document["first_bad"]
        console.print(f"audit trail broken at entry {bad['seq']}: {bad['problem']}",
                      markup=False)
    if not document["ok"]:
        sys.exit(1)


@audit.command("export")
@click.option("--since", default=None, help="From this time on: 2026-12-01, an ISO time, or "
              "epoch seconds [default: everything].")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write to this file [default: stdout].")
@state_dir_option
def audit_export(since: str | None, out: Path | None, state_dir: Path | None) -> None:
    """The entries as JSON Lines, oldest first."""
    start = _since(since)
    store, _ = _store(state_dir)
    with store:
        lines = access.export_audit(store, start)
        if out is None:
            for line in lines:
                click.echo(line)
            return
        count = 0
        with out.open("w") as file:
            for line in lines:
                file.write(line + "\n")
                count += 1
    console.print(f"wrote {count} entries to {out}", markup=False)


@audit.command("checkpoint")
@state_dir_option
def audit_checkpoint(state_dir: Path | None) -> None:
    """Write a signed checkpoint of the chain's head outside the database (the service writes
    one a minute)."""
    store, root = _store(state_dir)
    with store:
        point = write_checkpoint(root, store, store.now())
    console.print("nothing new to checkpoint" if point is None else
                  f"checkpoint at entry {point.seq}", markup=False)


@audit.command("prune")
@click.option("--retention-days", type=int, default=access.RETENTION_DAYS, show_default=True)
@state_dir_option
def audit_prune(retention_days: int, state_dir: Path | None) -> None:
    """Delete entries older than the retention; the pruning is itself an audit entry."""
    store, root = _store(state_dir)
    with store:
        result = access.prune_audit(store, root, retention_days, _actor())
    console.print(f"pruned {result['pruned']} entries older than {retention_days} days",
                  markup=False)


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text) if text.replace(".", "", 1).isdigit() else \
            datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        raise InvalidInput("must be a date, an ISO time or epoch seconds", field="--since",
                           value=text, fix="e.g. --since 2026-12-01") from None
