"""Scheduled GameDays (issue 12 item 5) with a fixed clock: freeze windows from the XNYS
calendar (a regular session, the 2026-11-26 Thanksgiving holiday, the 2026-11-27 early close),
overlaps, missed runs, every decision recorded and audited; the schedules file's errors; the
monthly comparison."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from controlplane.application.schedules import GRACE_S, compare, tick
from controlplane.chaos.schedules import Schedule, load_schedules
from controlplane.errors import InvalidInput
from controlplane.store import Store
from tests.gameday.support import quick_policy

NY = ZoneInfo("America/New_York")


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=NY).timestamp()


@pytest.fixture()
def store(tmp_path: Path):
    with Store(tmp_path / "controlplane.db") as s:
        yield s


def _frozen_policy(tmp_path: Path) -> Path:
    path = quick_policy(tmp_path / "policy.yaml")
    data = yaml.safe_load(path.read_text())
    data["freeze"] = {"enabled": True, "timezone": "America/New_York", "calendar": "XNYS",
                      "before_open_min": 5, "after_close_min": 5, "windows": [],
                      "holidays": []}
    path.write_text(yaml.safe_dump(data))
    return path


def _schedule(policy: Path, **kw) -> Schedule:
    return Schedule(**{"name": "noon", "cron": "0 12 * * *", "timezone": "America/New_York",
                       "targets": ["experiments"], "policy": policy, **kw})


class Launches(list):
    def __call__(self, schedule: Schedule, gameday_id: str) -> None:
        self.append((schedule.name, gameday_id))


@pytest.mark.parametrize(("day", "session"), [
    ("2026-11-25", "open 09:30 to close 16:00 America/New_York"),      # a regular session
    ("2026-11-27", "open 09:30 to close 13:00 (an early close)")])     # the day after
def test_a_schedule_due_in_a_session_does_not_start_and_records_why(
        store: Store, tmp_path: Path, day: str, session: str) -> None:
    launched = Launches()
    [decision] = tick(store, [_schedule(_frozen_policy(tmp_path))], _at(f"{day}T12:00:30"),
                      launched)
    assert launched == []
    assert decision.decision == "skipped-freeze" and decision.due_at == _at(f"{day}T12:00")
    assert f"XNYS session {day}: {session}" in decision.reason
    assert "freeze-window" in decision.reason
    [entry] = [e for e in store.audit_entries() if e.action.startswith("gameday.schedule")]
    assert (entry.action, entry.target) == ("gameday.schedule.skipped-freeze", "noon")
    assert entry.detail["reason"] == decision.reason
    assert store.decisions("noon") == [decision]


def test_the_same_noon_on_the_holiday_and_after_the_early_close_starts(
        store: Store, tmp_path: Path) -> None:
    policy = _frozen_policy(tmp_path)
    launched = Launches()
    [holiday] = tick(store, [_schedule(policy)], _at("2026-11-26T12:00:10"), launched)
    assert holiday.decision == "started" and holiday.gameday_id
    [after_close] = tick(store, [_schedule(policy, name="late", cron="10 13 * * *")],
                         _at("2026-11-27T13:10:05"), launched)   # closed 13:00, margin 5 min
    assert after_close.decision == "started"
    assert launched == [("noon", holiday.gameday_id), ("late", after_close.gameday_id)]


def test_each_due_time_is_decided_once(store: Store, tmp_path: Path) -> None:
    schedule, launched = _schedule(_frozen_policy(tmp_path)), Launches()
    assert len(tick(store, [schedule], _at("2026-11-26T12:00:10"), launched)) == 1
    assert tick(store, [schedule], _at("2026-11-26T12:01:00"), launched) == []
    assert len(launched) == 1


def test_a_due_gameday_does_not_start_while_another_runs(store: Store, tmp_path: Path) -> None:
    store.start_gameday("gameday-running", ["x"], "p", ["a.json"], str(tmp_path), os.getpid())
    launched = Launches()
    [decision] = tick(store, [_schedule(_frozen_policy(tmp_path))], _at("2026-11-26T12:00:05"),
                      launched)
    assert decision.decision == "skipped-overlap" and launched == []
    assert "gameday-running is still running" in decision.reason


def test_missed_runs_are_recorded_and_run_once_catches_up_only_the_newest(
        store: Store, tmp_path: Path) -> None:
    policy = _frozen_policy(tmp_path)
    launched = Launches()
    store.record_decision("noon", _at("2026-11-21T12:00"), "started", "due", "gameday-old")
    made = tick(store, [_schedule(policy, missed="run-once", catch_up_min=600)],
                _at("2026-11-26T15:00"), launched)                  # the service was down
    kinds = [(datetime.fromtimestamp(d.due_at, NY).day, d.decision) for d in made]
    assert kinds == [(22, "missed"), (23, "missed"), (24, "missed"), (25, "missed"),
                     (26, "started")]                                  # 3 h late, on a holiday
    assert "when no scheduler ran" in made[0].reason and len(launched) == 1


def test_missed_skip_and_a_catch_up_too_old_run_nothing(store: Store, tmp_path: Path) -> None:
    policy = _frozen_policy(tmp_path)
    late = _at("2026-11-26T15:00")
    assert late - _at("2026-11-26T12:00") > GRACE_S
    for schedule in (_schedule(policy, missed="skip"),
                     _schedule(policy, name="short", missed="run-once", catch_up_min=60)):
        launched = Launches()
        store.record_decision(schedule.name, _at("2026-11-25T12:00"), "skipped-freeze", "x")
        [decision] = tick(store, [schedule], late, launched)
        assert decision.decision == "missed" and launched == []


# the schedules file --------------------------------------------------------------------
def _file(tmp_path: Path, schedules: list[dict]) -> Path:
    path = tmp_path / "gameday-schedules.yaml"
    path.write_text(yaml.safe_dump({"schedules": schedules}))
    return path


def test_the_shipped_schedules_file_loads() -> None:
    [schedule] = load_schedules()
    assert schedule.policy.is_absolute() and Path(schedule.targets[0]).is_dir()


@pytest.mark.parametrize(("entry", "field", "says"), [
    ({"cron": "61 * * * *"}, "schedules.0.cron", "not a cron expression"),
    ({"timezone": "Mars/Olympus"}, "schedules.0.timezone", "unknown time zone"),
    ({"missed": "later"}, "schedules.0.missed", "'skip' or 'run-once'"),
    ({"concurrency": "allow"}, "schedules.0.concurrency", "'forbid'"),
    ({"policy": "policies/chaos-guardrails.production.yaml"}, "schedules.0.policy",
     "requires approval"),
    ({"crontab": "0 2 * * *"}, "schedules.0.crontab", "Extra inputs"),
])
def test_a_bad_schedule_is_refused_naming_file_field_and_value(
        tmp_path: Path, entry: dict, field: str, says: str) -> None:
    base = {"name": "monthly", "cron": "0 2 1 * *", "targets": ["experiments"]}
    path = _file(tmp_path, [base | entry])
    with pytest.raises(InvalidInput) as err:
        load_schedules(path)
    assert err.value.source == str(path) and err.value.field == field
    assert says in str(err.value)


def test_two_schedules_of_one_name_are_refused(tmp_path: Path) -> None:
    one = {"name": "monthly", "cron": "0 2 1 * *", "targets": ["experiments"]}
    with pytest.raises(InvalidInput, match=r"schedules.1.name: names another"):
        load_schedules(_file(tmp_path, [one, one]))


def test_an_unknown_calendar_is_refused_by_the_policy(tmp_path: Path) -> None:
    path = _frozen_policy(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["freeze"]["calendar"] = "XNYZ"
    path.write_text(yaml.safe_dump(data))
    from controlplane.chaos.guardrails import load_policy
    with pytest.raises(InvalidInput, match=r"freeze.calendar: unknown exchange calendar.*"
                       r"XNYZ"):
        load_policy(path)


# the monthly report ---------------------------------------------------------------------
def _finished(store: Store, gameday_id: str, states: dict[str, str]) -> None:
    store.start_gameday(gameday_id, ["experiments"], "p", list(states), "/tmp", 1, "monthly")
    for i, state in enumerate(states.values()):
        store.start_gameday_experiment(gameday_id, i)
        store.finish_gameday_experiment(gameday_id, i, state, f"{state}!", [], True, {})
    store.finish_gameday(gameday_id, {"counts": {}})


def test_the_monthly_report_compares_a_gameday_with_the_previous_one(store: Store) -> None:
    _finished(store, "gameday-nov", {"a": "passed", "b": "failed", "c": "failed"})
    _finished(store, "gameday-dec", {"a": "failed", "b": "passed", "c": "failed"})
    report = compare(store).to_dict()
    assert (report["current"], report["previous"]) == ("gameday-dec", "gameday-nov")
    assert report["new_findings"] == [{"experiment": "a", "state": "failed",
                                       "reason": "failed!"}]
    assert report["fixed_findings"] == ["b"] and report["still_failing"] == ["c"]
    assert report["score"] == report["previous_score"] == round(1 / 3, 4)
    assert report["score_change"] == 0 and report["score_kind"].startswith("pass rate")
