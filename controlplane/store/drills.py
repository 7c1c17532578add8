"""Drill records: created running, given timeline events, finished with measurements."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from controlplane.errors import InvalidInput
from controlplane.store.models import (
    Drill,
    DrillEvent,
    DrillState,
    JsonObject,
    from_json,
    to_json,
)
from controlplane.store.records import Records, require_text

__all__ = ["FINAL_DRILL_STATES", "DrillRecords"]

FINAL_DRILL_STATES: tuple[DrillState, ...] = ("passed", "failed", "aborted")


class DrillRecords(Records):
    def create_drill(self, kind: str, target: str, params: Mapping[str, object]) -> Drill:
        """A new drill in state running, started now by the store's clock."""
        return _drill(self._insert(
            "INSERT INTO drills (kind, target, state, started_at, params) "
            "VALUES (?, ?, 'running', ?, ?)",
            (require_text(kind, "kind"), require_text(target, "target"), self._clock(),
             to_json(params, "params"))))

    def add_drill_event(self, drill_id: int, at: float, kind: str,
                        detail: Mapping[str, object] | None = None) -> DrillEvent:
        """A point on the drill's timeline: load_started, fault_injected, detected, ..."""
        try:
            return _event(self._insert(
                "INSERT INTO drill_events (drill_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                (drill_id, at, require_text(kind, "kind"), to_json(detail or {}, "detail"))))
        except sqlite3.IntegrityError:  # the foreign key: no such drill
            raise InvalidInput("no drill with this id", field="drill_id",
                               value=drill_id) from None

    def finish_drill(self, drill_id: int, state: DrillState,
                     result: Mapping[str, object]) -> Drill:
        """End a running drill as passed, failed or aborted, with its measurements."""
        if state not in FINAL_DRILL_STATES:
            raise InvalidInput("must be one of " + ", ".join(FINAL_DRILL_STATES),
                               field="state", value=state)
        row = self._one(
            "UPDATE drills SET state = ?, ended_at = ?, result = ? "
            "WHERE id = ? AND state = 'running' RETURNING *",
            (state, self._clock(), to_json(result, "result"), drill_id))
        if row is None:
            raise self._refuse("drills", "drill", drill_id, "only a running drill can finish")
        return _drill(row)

    def get_drill(self, drill_id: int) -> Drill | None:
        row = self._one("SELECT * FROM drills WHERE id = ?", (drill_id,))
        return None if row is None else _drill(row)

    def list_drills(self, limit: int = 50, kind: str | None = None) -> list[Drill]:
        """The newest drills first, optionally of one kind."""
        if limit < 1:
            raise InvalidInput("must be at least 1", field="limit", value=limit)
        rows = self._conn.execute(
            "SELECT * FROM drills WHERE (? IS NULL OR kind = ?) "
            "ORDER BY started_at DESC, id DESC LIMIT ?", (kind, kind, limit))
        return [_drill(row) for row in rows]

    def drill_events(self, drill_id: int) -> list[DrillEvent]:
        """The drill's timeline, oldest first; empty for an unknown drill."""
        rows = self._conn.execute(
            "SELECT * FROM drill_events WHERE drill_id = ? ORDER BY at, id", (drill_id,))
        return [_event(row) for row in rows]


def _drill(row: sqlite3.Row) -> Drill:
    return Drill(id=row["id"], kind=row["kind"], target=row["target"], state=row["state"],
                 started_at=row["started_at"], ended_at=row["ended_at"],
                 params=_object(row["params"]), result=from_json(row["result"]))


def _event(row: sqlite3.Row) -> DrillEvent:
    return DrillEvent(id=row["id"], drill_id=row["drill_id"], at=row["at"], kind=row["kind"],
                      detail=_object(row["detail"]))


def _object(text: str) -> JsonObject:
    return from_json(text) or {}
