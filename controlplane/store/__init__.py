"""The durable store for drill and fault records: SQLite with versioned migrations.

`Store(db_path(state_dir))` opens and migrates the database; see `store.Store` for the
threading rule and `faults` for the crash-safe fault protocol.
"""

from controlplane.store.models import (
    Drill,
    DrillEvent,
    DrillResult,
    DrillState,
    Fault,
    FaultState,
    iso,
)
from controlplane.store.store import DB_FILENAME, Store, db_path

__all__ = [
    "DB_FILENAME",
    "Drill",
    "DrillEvent",
    "DrillResult",
    "DrillState",
    "Fault",
    "FaultState",
    "Store",
    "db_path",
    "iso",
]
