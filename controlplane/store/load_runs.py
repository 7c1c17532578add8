"""Load runs and calibrations in the control plane's store (migration 0003).

`LoadRecords(store)` shares the `Store`'s connection and clock. It lives in the store package
with its migration; it is a wrapper rather than a mixin of `Store` because only the load
commands need it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controlplane.store import Store
from controlplane.store.models import from_json, to_json
from controlplane.store.records import Records

__all__ = ["Calibration", "LoadRecords", "LoadRunRow"]


@dataclass(frozen=True)
class LoadRunRow:
    id: int
    profile: str
    mode: str
    state: str
    started_at: float
    ended_at: float | None
    out_dir: str
    params: dict[str, Any]
    result: dict[str, Any] | None


@dataclass(frozen=True)
class Calibration:
    id: int
    profile: str
    measured_at: float
    result: dict[str, Any]


class LoadRecords(Records):
    def __init__(self, store: Store) -> None:
        self._conn = store._conn      # one connection per store, shared
        self._clock = store._clock

    def start_run(self, profile: str, mode: str, out_dir: str,
                  params: Mapping[str, object]) -> LoadRunRow:
        return _run(self._insert(
            "INSERT INTO load_runs (profile, mode, state, started_at, out_dir, params) "
            "VALUES (?, ?, 'running', ?, ?, ?)",
            (profile, mode, self._clock(), out_dir, to_json(params, "params"))))

    def finish_run(self, run_id: int, state: str, result: Mapping[str, object]) -> LoadRunRow:
        row = self._one("UPDATE load_runs SET state = ?, ended_at = ?, result = ? "
                        "WHERE id = ? AND state = 'running' RETURNING *",
                        (state, self._clock(), to_json(result, "result"), run_id))
        if row is None:
            raise self._refuse("load_runs", "load run", run_id, "only a running run can finish")
        return _run(row)

    def list_runs(self, limit: int = 20) -> list[LoadRunRow]:
        rows = self._conn.execute("SELECT * FROM load_runs ORDER BY id DESC LIMIT ?",
                                  (limit,)).fetchall()
        return [_run(r) for r in rows]

    def get_run(self, run_id: int) -> LoadRunRow | None:
        row = self._one("SELECT * FROM load_runs WHERE id = ?", (run_id,))
        return None if row is None else _run(row)

    def add_calibration(self, profile: str, result: Mapping[str, object]) -> Calibration:
        return _calibration(self._insert(
            "INSERT INTO load_calibrations (profile, measured_at, result) VALUES (?, ?, ?)",
            (profile, self._clock(), to_json(result, "result"))))

    def latest_calibration(self, profile: str) -> Calibration | None:
        row = self._one("SELECT * FROM load_calibrations WHERE profile = ? "
                        "ORDER BY measured_at DESC, id DESC LIMIT 1", (profile,))
        return None if row is None else _calibration(row)


def _run(row: sqlite3.Row) -> LoadRunRow:
    return LoadRunRow(id=row["id"], profile=row["profile"], mode=row["mode"],
                      state=row["state"], started_at=row["started_at"],
                      ended_at=row["ended_at"], out_dir=row["out_dir"],
                      params=dict(from_json(row["params"]) or {}),
                      result=None if row["result"] is None else dict(from_json(row["result"])))


def _calibration(row: sqlite3.Row) -> Calibration:
    return Calibration(id=row["id"], profile=row["profile"], measured_at=row["measured_at"],
                       result=dict(from_json(row["result"]) or {}))
