"""Schema migrations: ordered SQL files `NNNN_name.sql`, each applied in its own transaction.

The version reached is recorded in `schema_migrations(version, name, applied_at)`. A later
table comes in a new file; applied files are never edited. Files must not contain BEGIN,
COMMIT or PRAGMAs that cannot run inside a transaction.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from controlplane.errors import StoreError

__all__ = ["MIGRATIONS_DIR", "Migration", "load_migrations", "migrate", "schema_version",
           "split_statements"]

MIGRATIONS_DIR: Traversable = files("controlplane.store") / "migrations"
_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_BOOKKEEPING = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Traversable | Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in `directory`, numbered 1, 2, ... without gaps."""
    found: list[Migration] = []
    for entry in directory.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILENAME.match(entry.name)
        if match is None:
            raise StoreError(f"{directory}: migration file {entry.name!r} is not named "
                             "NNNN_lowercase_name.sql")
        found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"{directory}: migration versions must run 1, 2, 3, ... without gaps "
                         f"or repeats; found {versions}")
    return found


def schema_version(conn: sqlite3.Connection) -> int:
    conn.execute(_BOOKKEEPING)
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
               .fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: list[Migration], clock: Callable[[], float],
            where: str) -> int:
    """Bring the database to the latest version; return it. `conn` must be in autocommit
    mode. `where` names the database in errors."""
    current = schema_version(conn)
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise StoreError(f"{where}: the database is at schema version {current}, newer than "
                         f"this controlplane knows ({latest}); upgrade controlplane or use "
                         "another state directory")
    for migration in migrations[current:]:
        _apply(conn, migration, clock, where)
    return schema_version(conn)


def _apply(conn: sqlite3.Connection, migration: Migration, clock: Callable[[], float],
           where: str) -> None:
    conn.execute("BEGIN IMMEDIATE")  # the write lock first: another process may migrate too
    try:
        if schema_version(conn) < migration.version:
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                         "VALUES (?, ?, ?)", (migration.version, migration.name, clock()))
        conn.execute("COMMIT")
    except sqlite3.Error as err:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreError(
            f"{where}: migration {migration.version:04d}_{migration.name}.sql failed: {err}; "
            f"the database stays at version {migration.version - 1}") from None


def split_statements(sql: str) -> list[str]:
    """The SQL statements of a script, split where SQLite says a statement is complete."""
    statements: list[str] = []
    start = 0
    for i, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start:i + 1]):
            statements.append(sql[start:i + 1].strip())
            start = i + 1
    if sql[start:].strip():
        statements.append(sql[start:].strip())  # unterminated or comments: SQLite judges
    return statements
