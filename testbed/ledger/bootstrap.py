"""Create the ledger's role, database and tables; safe to run again and again.

    python -m testbed.ledger.bootstrap --superuser-dsn postgresql://postgres:PW@host:port/postgres \
        --app-user trader --app-password PW [--dbname ledger]

(`--app-password` may be left out and given in LEDGER_APP_PASSWORD instead, to keep it out of
the process list.) The tables are created as the application user, so it owns them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import asyncpg

__all__ = ["SCHEMA", "bootstrap_ledger", "main", "quote_ident", "quote_literal"]

SCHEMA = Path(__file__).with_name("schema.sql")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def bootstrap_ledger(superuser_dsn: str, app_user: str, app_password: str,
                           dbname: str = "ledger") -> None:
    """Create role `app_user` (LOGIN PASSWORD) and database `dbname` owned by it if missing,
    then apply schema.sql in that database as `app_user`."""
    admin = await asyncpg.connect(superuser_dsn, database="postgres")
    try:
        await _ensure_role(admin, app_user, app_password)
        await _ensure_database(admin, dbname, app_user)
    finally:
        await admin.close()
    conn = await asyncpg.connect(superuser_dsn, database=dbname)
    try:
        await _apply_schema(conn, quote_ident(app_user))
    finally:
        await conn.close()


async def _apply_schema(conn: asyncpg.Connection, user: str) -> None:
    await conn.execute(f"grant all on schema public to {user}")
    await conn.execute(f"set role {user}")
    await conn.execute(SCHEMA.read_text(encoding="utf-8"))
    await conn.execute("reset role")
    # Objects an older bootstrap created as the superuser stay usable by the app user.
    await conn.execute(f"grant all on all tables in schema public to {user}")
    await conn.execute(f"grant all on all sequences in schema public to {user}")


async def _ensure_role(conn: asyncpg.Connection, user: str, password: str) -> None:
    exists = await conn.fetchval("select 1 from pg_roles where rolname = $1", user)
    verb = "alter" if exists else "create"
    try:
        await conn.execute(
            f"{verb} role {quote_ident(user)} login password {quote_literal(password)}")
    except asyncpg.DuplicateObjectError:  # created concurrently: set the password again
        await conn.execute(
            f"alter role {quote_ident(user)} login password {quote_literal(password)}")


async def _ensure_database(conn: asyncpg.Connection, dbname: str, owner: str) -> None:
    if await conn.fetchval("select 1 from pg_database where datname = $1", dbname):
        return
    try:
        await conn.execute(f"create database {quote_ident(dbname)} owner {quote_ident(owner)}")
    except asyncpg.DuplicateDatabaseError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.ledger.bootstrap",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--superuser-dsn", required=True)
    parser.add_argument("--app-user", required=True)
    parser.add_argument("--app-password", default=os.environ.get("LEDGER_APP_PASSWORD"))
    parser.add_argument("--dbname", default="ledger")
    args = parser.parse_args(argv)
    if not args.app_password:
        parser.error("--app-password (or LEDGER_APP_PASSWORD) is required")
    try:
        asyncio.run(bootstrap_ledger(args.superuser_dsn, args.app_user, args.app_password,
                                     args.dbname))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(f"error: cannot bootstrap the ledger: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"ledger {args.dbname!r} ready for {args.app_user!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
