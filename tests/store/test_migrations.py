"""Schema migrations: fresh create, upgrade, refusal of newer databases, rollback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from controlplane.errors import StoreError
from controlplane.store import Store
from controlplane.store.migrate import MIGRATIONS_DIR, load_migrations, split_statements


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _versions(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT version, name FROM schema_migrations ORDER BY version"))


LATEST = len(load_migrations())
SHIPPED = [(m.version, m.name) for m in load_migrations()]
NEXT = f"{LATEST + 1:04d}"


@pytest.fixture
def with_extra(tmp_path: Path):
    """A migrations directory holding the shipped migrations plus one given file."""
    def make(name: str, sql: str) -> Path:
        directory = tmp_path / "migrations"
        directory.mkdir(exist_ok=True)
        for entry in MIGRATIONS_DIR.iterdir():
            if entry.name.endswith(".sql"):
                (directory / entry.name).write_text(entry.read_text(encoding="utf-8"))
        (directory / name).write_text(sql)
        return directory
    return make


def test_fresh_database_is_created_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "controlplane.db"
    with Store(path, clock=lambda: 1000.0) as store:
        assert store.version == len(load_migrations())
        pragmas = {name: store._conn.execute(f"PRAGMA {name}").fetchone()[0]
                   for name in ("journal_mode", "foreign_keys", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}
    assert {"drills", "drill_events", "faults", "schema_migrations"} <= _tables(path)
    assert _versions(path) == SHIPPED
    assert SHIPPED[0] == (1, "initial")


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "controlplane.db"
    Store(path).close()
    with Store(path) as store:
        assert store.version == LATEST
    assert _versions(path) == SHIPPED


def test_upgrade_from_version_1_keeps_the_data(tmp_path: Path, with_extra) -> None:
    path = tmp_path / "controlplane.db"
    with Store(path) as store:
        drill = store.create_drill("failover", "ledger", {})
    extra = with_extra(f"{NEXT}_add_runs.sql",
                       "CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
                       "INSERT INTO runs (name) VALUES ('first; with a semicolon');\n")
    with Store(path, migrations_dir=extra) as store:
        assert store.version == LATEST + 1
        assert store.get_drill(drill.id) == drill
    assert "runs" in _tables(path)
    assert _versions(path) == [*SHIPPED, (LATEST + 1, "add_runs")]


def test_a_newer_database_is_refused(tmp_path: Path, with_extra) -> None:
    path = tmp_path / "controlplane.db"
    Store(path, migrations_dir=with_extra(f"{NEXT}_future.sql",
                                          "CREATE TABLE future (x);")).close()
    with pytest.raises(StoreError, match=rf"schema version {LATEST + 1}, newer than this "
                                         rf"controlplane knows \({LATEST}\)") as caught:
        Store(path)
    assert str(path) in str(caught.value)


def test_a_failed_migration_leaves_the_previous_version(tmp_path: Path, with_extra) -> None:
    path = tmp_path / "controlplane.db"
    Store(path).close()
    broken = with_extra(f"{NEXT}_broken.sql",
                        "CREATE TABLE half_done (x INTEGER);\n"
                        "INSERT INTO no_such_table VALUES (1);\n")
    with pytest.raises(StoreError, match=rf"{NEXT}_broken\.sql failed: no such table: "
                                         rf"no_such_table.*stays at version {LATEST}"):
        Store(path, migrations_dir=broken)
    assert "half_done" not in _tables(path)
    assert _versions(path) == SHIPPED
    with Store(path) as store:  # still usable by the code that knows the shipped versions
        assert store.version == LATEST


def test_a_failed_first_migration_leaves_an_empty_database(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_bad.sql").write_text("CREATE TABLE a (x);\nCREATE TABLE a (x);\n")
    with pytest.raises(StoreError, match="stays at version 0"):
        Store(tmp_path / "db", migrations_dir=directory)
    assert _tables(tmp_path / "db") == {"schema_migrations"}


@pytest.mark.parametrize(("names", "message"), [
    (["0001_a.sql", "0003_c.sql"], r"without gaps or repeats; found \[1, 3\]"),
    (["0001_a.sql", "0001_b.sql"], r"without gaps or repeats; found \[1, 1\]"),
    (["1_a.sql"], r"'1_a.sql' is not named NNNN_lowercase_name.sql"),
])
def test_badly_numbered_migrations_are_refused(tmp_path: Path, names: list[str],
                                               message: str) -> None:
    for name in names:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(StoreError, match=message):
        load_migrations(tmp_path)


def test_split_statements_respects_strings_comments_and_triggers() -> None:
    sql = """-- a comment; with a semicolon
CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('a;b');
CREATE TRIGGER tr AFTER INSERT ON t BEGIN
    UPDATE t SET x = x || ';'; DELETE FROM t WHERE x = '';
END;
INSERT INTO t VALUES ('c');
-- trailing comment"""
    statements = split_statements(sql)
    assert len(statements) == 5
    assert statements[1] == "INSERT INTO t VALUES ('a;b');"
    assert statements[2].startswith("CREATE TRIGGER") and statements[2].endswith("END;")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    assert conn.execute("SELECT x FROM t ORDER BY x").fetchall() == [("a;b;",), ("c;",)]


def test_the_shipped_migrations_load_in_order() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))


def _shipped_before(version: int, tmp_path: Path) -> Path:
    """A migrations directory holding the shipped migrations older than `version`."""
    old = tmp_path / "old"
    old.mkdir()
    for entry in MIGRATIONS_DIR.iterdir():
        if entry.name.endswith(".sql") and int(entry.name[:4]) < version:
            (old / entry.name).write_text(entry.read_text(encoding="utf-8"))
    return old


def test_faults_recorded_before_the_expiry_migration_stay_open_without_one(
        tmp_path: Path, with_extra) -> None:
    """0007 adds expires_at and the owner to existing rows as NULL: such a fault is still
    open (for `chaos recover`), and the reaper has no expiry of it to enforce."""
    path = tmp_path / "controlplane.db"
    with Store(path, migrations_dir=_shipped_before(7, tmp_path)) as store:
        assert store.version == 6
        store._conn.execute("INSERT INTO faults (kind, target, state, revert, recorded_at) "
                            "VALUES ('process-pause', 'gateway-0', 'injected', '{}', 1.0)")
    with Store(path) as store:
        assert store.version == LATEST >= 7
        (fault,) = store.open_faults()
    assert (fault.kind, fault.expires_at, fault.owner_pid, fault.owner_host) == (
        "process-pause", None, None, None)


def test_the_runbook_confirm_migration_keeps_runs_steps_approvals_and_ids(
        tmp_path: Path) -> None:
    """0009 rebuilds the runbook tables (a run may end not_confirmed, a step be a confirm
    check): every row, id and the next id survive, and deleting a run still takes its steps
    and approvals with it."""
    path = tmp_path / "controlplane.db"
    with Store(path, migrations_dir=_shipped_before(9, tmp_path)) as store:
        runs = [store.start_runbook_run("rb", f"t{i}", "op", {"n": i}) for i in range(3)]
        step = store.start_step(runs[0].id, 0, "one", "step", "notify", "op", {"m": 1})
        store.decide(runs[0].id, 0, "approve", "oncall:bob")
        store._conn.execute("DELETE FROM runbook_runs WHERE id = ?", (runs[2].id,))
    with Store(path) as store:
        assert store.version == LATEST >= 9
        assert store.get_runbook_run(runs[0].id) == runs[0]
        assert store.runbook_steps(runs[0].id) == [step]
        assert store.approval(runs[0].id, 0).actor == "oncall:bob"
        new = store.start_runbook_run("rb", "t9", "op", {})
        assert new.id == runs[2].id + 1                       # no id used twice
        store.set_run_state(new.id, "not_confirmed", "not confirmed: up returned nothing")
        store.start_step(new.id, 0, "confirm-0", "confirm", "prometheus.expect", "op", {})
        store._conn.execute("DELETE FROM runbook_runs WHERE id = ?", (runs[0].id,))
        assert store.runbook_steps(runs[0].id) == [] and store.approval(runs[0].id, 0) is None
        assert store._conn.execute("PRAGMA foreign_key_check").fetchall() == []
