"""Scheduled GameDays: the service's loop calls `tick` every interval; each due time of each
schedule gets one decision, recorded in the store and audited before anything starts:

- `started`: the GameDay was launched (its id in the record);
- `skipped-freeze`: the guardrails profile's freeze window (its exchange calendar) holds at
  the due time; the reason is the guardrail's own;
- `skipped-overlap`: a GameDay is still running (concurrency: forbid);
- `missed`: the due time passed while no service ran (more than GRACE_S ago). With
  `missed: run-once` the newest missed due time still runs once if it is less than
  `catch_up_min` old (a bounded catch-up); older ones, and every one under `skip`, stay missed.

`compare` is the monthly report: a GameDay against the previous one of the same schedule (or
targets): new findings, fixed findings, and the pass rate of each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from controlplane.application.unattended import is_running
from controlplane.chaos.guardrails import check_freeze, load_policy
from controlplane.chaos.schedules import Schedule, due_times
from controlplane.errors import GuardrailRefused, InvalidInput
from controlplane.store import Store
from controlplane.store.gamedays import GameDay, GameDayDecision

__all__ = ["GRACE_S", "Comparison", "Launch", "compare", "new_gameday_id", "schedule_rows",
           "tick"]

GRACE_S = 120.0            # a due time this recent counts as on time
Launch = Callable[[Schedule, str], None]      # (schedule, GameDay id): start it


def new_gameday_id(schedule: str, due_at: float) -> str:
    return f"gameday-{datetime.fromtimestamp(due_at, UTC):%Y%m%dT%H%M%S}-{schedule}"[:120]


def tick(store: Store, schedules: list[Schedule], now: float, launch: Launch
         ) -> list[GameDayDecision]:
    """Decide every due time of every enabled schedule up to `now`; launch what may start."""
    made: list[GameDayDecision] = []
    for schedule in schedules:
        if schedule.enabled:
            made += _decide(store, schedule, now, launch)
    return made


def _decide(store: Store, schedule: Schedule, now: float, launch: Launch
            ) -> list[GameDayDecision]:
    last = store.last_decision(schedule.name)
    since = last.due_at if last else now - GRACE_S
    due = due_times(schedule, since, now)
    if not due:
        return []
    *older, newest = due
    late = now - newest > GRACE_S
    missed = older + ([newest] if late else [])
    catch_up = (late and schedule.missed == "run-once"
                and now - newest <= schedule.catch_up_min * 60)
    made = [_missed(store, schedule, at, now) for at in missed
            if not (catch_up and at == newest)]
    if not late or catch_up:
        made.append(_start_or_skip(store, schedule, newest, now, launch, catch_up))
    return [d for d in made if d is not None]


def _missed(store: Store, schedule: Schedule, at: float, now: float) -> GameDayDecision | None:
    why = (f"due {_iso(at)}, when no scheduler ran (decided {_iso(now)}); missed: "
           f"{schedule.missed}")
    if schedule.missed == "run-once":
        why += f", and only the newest within {schedule.catch_up_min} min is run"
    return store.record_decision(schedule.name, at, "missed", why)


def _start_or_skip(store: Store, schedule: Schedule, at: float, now: float, launch: Launch,
                   catch_up: bool) -> GameDayDecision | None:
    try:
        check_freeze(load_policy(schedule.policy).freeze, datetime.fromtimestamp(now, UTC))
    except GuardrailRefused as err:
        return store.record_decision(schedule.name, at, "skipped-freeze", str(err))
    running = [g for g in store.gamedays(state="running") if is_running(g)]
    if running:
        return store.record_decision(
            schedule.name, at, "skipped-overlap", f"GameDay {running[0].id} is still "
            f"running (pid {running[0].pid}); concurrency: {schedule.concurrency}")
    gameday_id = new_gameday_id(schedule.name, at)
    why = "a catch-up of a missed run" if catch_up else "due"
    decision = store.record_decision(schedule.name, at, "started",
                                     f"{why} at {_iso(at)}", gameday_id)
    if decision is not None:                       # decided once, launched once
        launch(schedule, gameday_id)
    return decision


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_rows(store: Store, schedules: list[Schedule], now: float
                  ) -> list[dict[str, Any]]:
    """Each schedule as `gameday schedules` shows it: when it is next due, its last
    decision."""
    rows = []
    for s in schedules:
        last = store.last_decision(s.name)
        rows.append({"name": s.name, "cron": s.cron, "timezone": s.timezone,
                     "targets": s.targets, "policy": str(s.policy), "enabled": s.enabled,
                     "concurrency": s.concurrency, "missed": s.missed,
                     "catch_up_min": s.catch_up_min, "next_due": _iso(s.next_due(now)),
                     "last_decision": asdict(last) if last else None})
    return rows


# the monthly report ----------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """A GameDay against the previous one. The score is the pass rate (passed / run): the
    resilience score of issue 12 is not on this branch."""

    current: str
    previous: str | None
    new_findings: list[dict[str, Any]]
    fixed_findings: list[str]
    still_failing: list[str]
    score: float
    previous_score: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"score_kind": "pass rate (passed / experiments)",
                               "score_change": None if self.previous_score is None
                               else round(self.score - self.previous_score, 4)}


def compare(store: Store, gameday_id: str | None = None) -> Comparison:
    """The GameDay `gameday_id` (the newest finished one by default) against the finished
    GameDay before it of the same schedule, or else of the same targets."""
    finished = store.gamedays(state="finished", limit=1000)
    current = next((g for g in finished if gameday_id in (None, g.id)), None)
    if current is None:
        raise InvalidInput("no finished GameDay" + (" with this id" if gameday_id else ""),
                           field="gameday_id", value=gameday_id,
                           fix="`controlplane gameday history` lists them")
    earlier = [g for g in finished if g.started_at < current.started_at and (
        (g.schedule == current.schedule) if current.schedule else g.targets == current.targets)]
    previous = earlier[0] if earlier else None
    now, before = _findings(current), _findings(previous) if previous else {}
    return Comparison(
        current.id, previous.id if previous else None,
        [{"experiment": k, "state": v.state, "reason": v.reason} for k, v in now.items()
         if k not in before],
        sorted(k for k in before if k in _passed(current)),
        sorted(k for k in now if k in before), _score(current),
        _score(previous) if previous else None)


def _findings(g: GameDay) -> dict[str, Any]:
    return {e.experiment: e for e in g.experiments
            if e.state not in ("passed", "pending", "running")}


def _passed(g: GameDay) -> set[str]:
    return {e.experiment for e in g.experiments if e.state == "passed"}


def _score(g: GameDay) -> float:
    total = len(g.experiments)
    return round(sum(e.state == "passed" for e in g.experiments) / total, 4) if total else 0.0
