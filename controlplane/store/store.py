"""The durable store: one SQLite file holding drill and fault records.

`Store(path)` opens (creating if needed) and migrates the database, in WAL mode with a busy
timeout and foreign keys on. Each `Store` owns one connection in autocommit mode, so every
write is committed when its method returns. Use a `Store` from one thread at a time (it may be
handed between threads, e.g. to `asyncio.to_thread`); open one per thread for parallel use.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from importlib.resources.abc import Traversable
from pathlib import Path
from types import TracebackType
from typing import Self

from controlplane.errors import StoreError
from controlplane.store.alerts import AlertRecords
from controlplane.store.audit import AuditRecords
from controlplane.store.chaos import ChaosRecords
from controlplane.store.chaos_approvals import ChaosApprovalRecords
from controlplane.store.drills import DrillRecords
from controlplane.store.evidence import EvidenceRecords
from controlplane.store.faults import FaultRecords
from controlplane.store.gamedays import GameDayRecords
from controlplane.store.migrate import MIGRATIONS_DIR, load_migrations, migrate
from controlplane.store.runbooks import RunbookRecords
from controlplane.store.users import UserRecords

__all__ = ["DB_FILENAME", "Store", "db_path"]

DB_FILENAME = "controlplane.db"
BUSY_TIMEOUT_MS = 5000


def db_path(state_dir: Path) -> Path:
    """Where the platform keeps the store: `<state dir>/controlplane.db`."""
    return state_dir / DB_FILENAME


class Store(DrillRecords, FaultRecords, ChaosRecords, ChaosApprovalRecords, AlertRecords,
            RunbookRecords, UserRecords, GameDayRecords, AuditRecords, EvidenceRecords):
    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time,
                 migrations_dir: Traversable | Path = MIGRATIONS_DIR) -> None:
        self.path = Path(path)
        self._clock = clock
        self._conn = _connect(self.path)
        try:
            self.version = migrate(self._conn, load_migrations(migrations_dir), clock,
                                   str(self.path))
        except BaseException:
            self._conn.close()
            raise

    def healthy(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            self._conn.execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def _connect(path: Path) -> sqlite3.Connection:
    if not path.parent.is_dir():
        raise StoreError(f"{path}: the directory {path.parent} does not exist; create the "
                         "state directory first")
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as err:
        raise StoreError(f"{path}: cannot open the database: {err}") from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error as err:
        conn.close()
        raise StoreError(f"{path}: not a usable SQLite database: {err}") from None
    return conn
