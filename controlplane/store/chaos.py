"""Chaos run records: a row per experiment run, its timeline, and the halt switch."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controlplane.errors import InvalidInput
from controlplane.store.audit import AuditRecords
from controlplane.store.models import JsonObject, from_json, to_json
from controlplane.store.records import require_text

__all__ = ["CHAOS_FINAL_STATES", "ChaosEvent", "ChaosRecords", "ChaosRun", "HaltState"]

CHAOS_FINAL_STATES = ("passed", "failed", "aborted", "skipped", "refused")


@dataclass(frozen=True, slots=True)
class ChaosRun:
    id: int
    run_id: str
    suite_id: str | None
    experiment: str
    title: str
    state: str
    reason: str | None
    pid: int | None
    started_at: float
    ended_at: float | None
    tags: list[str]
    result: JsonObject | None


@dataclass(frozen=True, slots=True)
class ChaosEvent:
    run_id: str
    at: float
    kind: str
    detail: JsonObject


@dataclass(frozen=True, slots=True)
class HaltState:
    halted: bool
    reason: str | None
    at: float | None


class ChaosRecords(AuditRecords):
    def start_chaos_run(self, run_id: str, experiment: str, title: str, tags: Sequence[str],
                        suite_id: str | None = None, pid: int | None = None) -> ChaosRun:
        return _run(self._insert(
            "INSERT INTO chaos_runs (run_id, suite_id, experiment, title, state, pid, "
            "started_at, tags) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
            (require_text(run_id, "run_id"), suite_id, require_text(experiment, "experiment"),
             title or experiment, pid, self._clock(), to_json({"tags": list(tags)}, "tags"))))

    def add_chaos_event(self, run_id: str, at: float, kind: str,
                        detail: Mapping[str, object] | None = None) -> None:
        try:
            self._insert("INSERT INTO chaos_events (run_id, at, kind, detail) "
                         "VALUES (?, ?, ?, ?)",
                         (run_id, at, require_text(kind, "kind"), to_json(detail or {}, "detail")))
        except sqlite3.IntegrityError:
            raise InvalidInput("no chaos run with this id", field="run_id", value=run_id) from None

    def finish_chaos_run(self, run_id: str, state: str, reason: str | None,
                         result: Mapping[str, object]) -> ChaosRun:
        if state not in CHAOS_FINAL_STATES:
            raise InvalidInput("must be one of " + ", ".join(CHAOS_FINAL_STATES), field="state",
                               value=state)
        row = self._one("UPDATE chaos_runs SET state = ?, reason = ?, ended_at = ?, result = ? "
                        "WHERE run_id = ? AND state = 'running' RETURNING *",
                        (state, reason, self._clock(), to_json(result, "result"), run_id))
        if row is None:
            raise InvalidInput("no running chaos run with this id", field="run_id", value=run_id)
        return _run(row)

    def get_chaos_run(self, run_id: str) -> ChaosRun | None:
        row = self._one("SELECT * FROM chaos_runs WHERE run_id = ?", (run_id,))
        return None if row is None else _run(row)

    def chaos_runs(self, suite_id: str | None = None, state: str | None = None,
                   limit: int = 500) -> list[ChaosRun]:
        rows = self._conn.execute(
            "SELECT * FROM chaos_runs WHERE (? IS NULL OR suite_id = ?) AND "
            "(? IS NULL OR state = ?) ORDER BY id DESC LIMIT ?",
            (suite_id, suite_id, state, state, limit))
        return [_run(r) for r in rows]

    def chaos_events(self, run_id: str) -> list[ChaosEvent]:
        rows = self._conn.execute("SELECT * FROM chaos_events WHERE run_id = ? ORDER BY at, id",
                                  (run_id,))
        return [ChaosEvent(r["run_id"], r["at"], r["kind"], from_json(r["detail"]) or {})
                for r in rows]

    def set_halt(self, halted: bool, reason: str | None = None) -> HaltState:
        self._conn.execute("INSERT INTO chaos_halt (id, halted, reason, at) VALUES (1, ?, ?, ?) "
                           "ON CONFLICT (id) DO UPDATE SET halted = excluded.halted, "
                           "reason = excluded.reason, at = excluded.at",
                           (int(halted), reason, self._clock()))
        self.audit("chaos", "chaos.halt" if halted else "chaos.resume", "every chaos run",
                   "ok", {"reason": reason})
        return self.halt_state()

    def halt_state(self) -> HaltState:
        row = self._one("SELECT * FROM chaos_halt WHERE id = 1", ())
        if row is None:
            return HaltState(False, None, None)
        return HaltState(bool(row["halted"]), row["reason"], row["at"])


def _run(row: sqlite3.Row) -> ChaosRun:
    tags = from_json(row["tags"]) or {}
    return ChaosRun(row["id"], row["run_id"], row["suite_id"], row["experiment"], row["title"],
                    row["state"], row["reason"], row["pid"], row["started_at"], row["ended_at"],
                    list(tags.get("tags", [])), from_json(row["result"]))
