"""The durable store: SQLite with ordered SQL migrations (`migrations/`), one table group a
module: drills and their events, faults, chaos runs, alerts, runbook runs and steps
(`Store`'s mixins), and load runs and calibrations (`load_runs.LoadRecords`, which shares the
`Store`'s connection).

`Workspace(root).store()` (or `Store(db_path(root))`) opens and migrates the database; see
`store.Store` for the threading rule and `faults` for the crash-safe fault protocol.
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
