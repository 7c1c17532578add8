"""GameDay records: a GameDay, one row per experiment with its progress, and the scheduler's
decisions. Each write is committed when its method returns, which is what lets a GameDay
resume after its process is SIGKILLed."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controlplane.errors import InvalidInput
from controlplane.store.audit import AuditRecords
from controlplane.store.models import JsonObject, from_json, to_json

__all__ = ["DECISIONS", "ROW_STATES", "GameDay", "GameDayDecision", "GameDayExperiment",
           "GameDayRecords"]

ROW_STATES = ("pending", "running", "passed", "failed", "aborted", "skipped", "refused",
              "interrupted")
DECISIONS = ("started", "skipped-freeze", "skipped-overlap", "missed")


@dataclass(frozen=True, slots=True)
class GameDayExperiment:
    position: int
    experiment: str
    state: str
    run_id: str | None
    fault_ids: list[int]
    reverted: bool | None
    reason: str | None
    outcome: JsonObject | None
    started_at: float | None
    ended_at: float | None


@dataclass(frozen=True, slots=True)
class GameDay:
    id: str
    targets: list[str]
    policy: str
    schedule: str | None
    state: str
    pid: int | None
    started_at: float
    resumed_at: float | None
    ended_at: float | None
    report_dir: str
    summary: JsonObject | None
    experiments: list[GameDayExperiment]

    def next_pending(self) -> GameDayExperiment | None:
        return next((e for e in self.experiments if e.state == "pending"), None)


@dataclass(frozen=True, slots=True)
class GameDayDecision:
    id: int
    schedule: str
    due_at: float
    decided_at: float
    decision: str
    reason: str
    gameday_id: str | None


class GameDayRecords(AuditRecords):
    def start_gameday(self, gameday_id: str, targets: Sequence[str], policy: str,
                      experiments: Sequence[str], report_dir: str, pid: int,
                      schedule: str | None = None) -> GameDay:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(
                "INSERT INTO gamedays (id, targets, policy, schedule, pid, started_at, "
                "report_dir) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (gameday_id, to_json({"targets": list(targets)}, "targets"), policy, schedule,
                 pid, self._clock(), report_dir))
            self._conn.executemany(
                "INSERT INTO gameday_experiments (gameday_id, position, experiment) "
                "VALUES (?, ?, ?)", [(gameday_id, i, e) for i, e in enumerate(experiments)])
            self._append("gameday", "gameday.start", gameday_id, "ok",
                         {"experiments": len(experiments), "schedule": schedule})
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return self._gameday_or_refuse(gameday_id)

    def take_gameday(self, gameday_id: str, pid: int) -> GameDay:
        """A resume: this process runs the GameDay from now on."""
        self._conn.execute("UPDATE gamedays SET pid = ?, resumed_at = ? WHERE id = ?",
                           (pid, self._clock(), gameday_id))
        self.audit("gameday", "gameday.resume", gameday_id, "ok", {"pid": pid})
        return self._gameday_or_refuse(gameday_id)

    def start_gameday_experiment(self, gameday_id: str, position: int) -> None:
        self._conn.execute("UPDATE gameday_experiments SET state = 'running', started_at = ? "
                           "WHERE gameday_id = ? AND position = ?",
                           (self._clock(), gameday_id, position))

    def set_gameday_run(self, gameday_id: str, position: int, run_id: str) -> None:
        self._conn.execute("UPDATE gameday_experiments SET run_id = ? WHERE gameday_id = ? "
                           "AND position = ?", (run_id, gameday_id, position))

    def finish_gameday_experiment(self, gameday_id: str, position: int, state: str,
                                  reason: str, fault_ids: Sequence[int], reverted: bool,
                                  outcome: Mapping[str, object]) -> None:
        if state not in ROW_STATES[2:]:
            raise InvalidInput("must be one of " + ", ".join(ROW_STATES[2:]), field="state",
                               value=state)
        self._conn.execute(
            "UPDATE gameday_experiments SET state = ?, reason = ?, fault_ids = ?, "
            "reverted = ?, outcome = ?, ended_at = ? WHERE gameday_id = ? AND position = ?",
            (state, reason, to_json({"ids": list(fault_ids)}, "fault_ids"), int(reverted),
             to_json(outcome, "outcome"), self._clock(), gameday_id, position))

    def verify_gameday_experiment(self, gameday_id: str, position: int, reason: str,
                                  reverted: bool, outcome: Mapping[str, object]) -> None:
        """The end-of-GameDay look at the row's faults: the verdict on them, not its times."""
        self._conn.execute(
            "UPDATE gameday_experiments SET reason = ?, reverted = ?, outcome = ? "
            "WHERE gameday_id = ? AND position = ?",
            (reason, int(reverted), to_json(outcome, "outcome"), gameday_id, position))

    def finish_gameday(self, gameday_id: str, summary: Mapping[str, object]) -> GameDay:
        self._conn.execute("UPDATE gamedays SET state = 'finished', ended_at = ?, summary = ? "
                           "WHERE id = ?", (self._clock(), to_json(summary, "summary"),
                                            gameday_id))
        self.audit("gameday", "gameday.finish", gameday_id, "ok",
                   {"counts": summary.get("counts")})
        return self._gameday_or_refuse(gameday_id)

    def get_gameday(self, gameday_id: str) -> GameDay | None:
        row = self._one("SELECT * FROM gamedays WHERE id = ?", (gameday_id,))
        return None if row is None else self._gameday(row)

    def gamedays(self, state: str | None = None, schedule: str | None = None,
                 limit: int = 100) -> list[GameDay]:
        rows = self._conn.execute(
            "SELECT * FROM gamedays WHERE (? IS NULL OR state = ?) AND "
            "(? IS NULL OR schedule = ?) ORDER BY started_at DESC, id DESC LIMIT ?",
            (state, state, schedule, schedule, limit)).fetchall()
        return [self._gameday(r) for r in rows]

    def record_decision(self, schedule: str, due_at: float, decision: str, reason: str,
                        gameday_id: str | None = None) -> GameDayDecision | None:
        """One scheduler decision, audited; None if this due time was already decided."""
        if decision not in DECISIONS:
            raise InvalidInput("must be one of " + ", ".join(DECISIONS), field="decision",
                               value=decision)
        try:
            row = self._insert(
                "INSERT INTO gameday_decisions (schedule, due_at, decided_at, decision, "
                "reason, gameday_id) VALUES (?, ?, ?, ?, ?, ?)",
                (schedule, due_at, self._clock(), decision, reason, gameday_id))
        except sqlite3.IntegrityError:
            return None
        self.audit("scheduler", f"gameday.schedule.{decision}", schedule, "ok",
                   {"due_at": due_at, "reason": reason, "gameday_id": gameday_id})
        return _decision(row)

    def decisions(self, schedule: str | None = None, limit: int = 200
                  ) -> list[GameDayDecision]:
        rows = self._conn.execute(
            "SELECT * FROM gameday_decisions WHERE (? IS NULL OR schedule = ?) "
            "ORDER BY due_at DESC, id DESC LIMIT ?", (schedule, schedule, limit))
        return [_decision(r) for r in rows]

    def last_decision(self, schedule: str) -> GameDayDecision | None:
        found = self.decisions(schedule, limit=1)
        return found[0] if found else None

    def _gameday_or_refuse(self, gameday_id: str) -> GameDay:
        found = self.get_gameday(gameday_id)
        if found is None:
            raise InvalidInput("no GameDay with this id", field="gameday_id", value=gameday_id)
        return found

    def _gameday(self, row: sqlite3.Row) -> GameDay:
        rows = self._conn.execute("SELECT * FROM gameday_experiments WHERE gameday_id = ? "
                                  "ORDER BY position", (row["id"],)).fetchall()
        targets = from_json(row["targets"]) or {}
        return GameDay(row["id"], list(targets.get("targets", [])), row["policy"],
                       row["schedule"], row["state"], row["pid"], row["started_at"],
                       row["resumed_at"], row["ended_at"], row["report_dir"],
                       from_json(row["summary"]), [_experiment(r) for r in rows])


def _experiment(row: sqlite3.Row) -> GameDayExperiment:
    ids = from_json(row["fault_ids"]) or {}
    reverted = None if row["reverted"] is None else bool(row["reverted"])
    return GameDayExperiment(row["position"], row["experiment"], row["state"], row["run_id"],
                             [int(i) for i in ids.get("ids", [])] if isinstance(ids, dict)
                             else [], reverted, row["reason"], from_json(row["outcome"]),
                             row["started_at"], row["ended_at"])


def _decision(row: sqlite3.Row) -> GameDayDecision:
    return GameDayDecision(row["id"], row["schedule"], row["due_at"], row["decided_at"],
                           row["decision"], row["reason"], row["gameday_id"])
