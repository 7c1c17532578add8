"""GameDay schedules (`policies/gameday-schedules.yaml`): when a GameDay is due, by a cron
expression (croniter, standard cron semantics) in a time zone, what it runs, under which
guardrails profile, and what to do about overlaps and missed runs.

    schedules:
      - name: monthly-catalogue
        cron: "0 2 1 * *"              # 02:00 on the 1st of every month
        timezone: America/New_York
        targets: [experiments]          # files, directories, tag selectors (as `chaos run`)
        policy: policies/chaos-guardrails.yaml
        concurrency: forbid             # never two GameDays at once
        missed: run-once                # or skip
        catch_up_min: 360               # run-once: only a run missed less than this ago

Whether a due GameDay may start is the guardrails' decision (freeze windows, from the
policy's exchange calendar); this module only says when it is due.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from controlplane.chaos.guardrails import DEFAULT_POLICY, Policy, iana_zone, load_policy
from controlplane.errors import InvalidInput
from controlplane.project import project_file
from controlplane.userfiles import first_error, read_document

__all__ = ["DEFAULT_SCHEDULES", "MAX_DUE", "Schedule", "due_times", "load_schedules"]

DEFAULT_SCHEDULES = project_file("policies/gameday-schedules.yaml")
MAX_DUE = 1000                 # due times looked at per schedule and tick, at most
_NAME = r"^[a-z][a-z0-9-]{0,62}$"
_FIX = "See policies/gameday-schedules.yaml for the format"


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    cron: str
    timezone: str = "UTC"
    targets: list[str] = Field(min_length=1, max_length=100)
    policy: Path = DEFAULT_POLICY
    concurrency: Literal["forbid"] = "forbid"
    missed: Literal["skip", "run-once"] = "skip"
    catch_up_min: int = Field(60, ge=0, le=7 * 24 * 60)
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        if not croniter.is_valid(v):
            raise ValueError("not a cron expression; five fields: minute hour day-of-month "
                             "month day-of-week, e.g. \"0 2 1 * *\"")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return iana_zone(v)

    def next_due(self, after: float) -> float:
        start = datetime.fromtimestamp(after, UTC).astimezone(ZoneInfo(self.timezone))
        return float(croniter(self.cron, start).get_next(float))


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schedules: list[Schedule] = Field(max_length=100)


def load_schedules(path: Path | None = None, root: Path | None = None) -> list[Schedule]:
    """The schedules of `path`, each policy file read and checked; relative paths are taken
    from `root` (the project's folder by default). Errors name the file, field and value."""
    path = path or DEFAULT_SCHEDULES
    data = read_document(path, fix=_FIX)
    try:
        found = _File.model_validate(data).schedules
    except ValidationError as err:
        field, message, value = first_error(err.errors())
        raise InvalidInput(message, source=str(path), field=field, value=value,
                           fix=_FIX) from None
    base = root or DEFAULT_SCHEDULES.parent.parent
    seen: set[str] = set()
    out = []
    for i, s in enumerate(found):
        if s.name in seen:
            raise InvalidInput("names another schedule's name", source=str(path),
                               field=f"schedules.{i}.name", value=s.name,
                               fix="Give every schedule its own name")
        seen.add(s.name)
        policy = s.policy if s.policy.is_absolute() else base / s.policy
        _check_policy(policy, path, i)
        targets = [t if "=" in t or Path(t).is_absolute() else str(base / t)
                   for t in s.targets]
        out.append(s.model_copy(update={"policy": policy, "targets": targets}))
    return out


def _check_policy(policy: Path, path: Path, i: int) -> Policy:
    try:
        loaded = load_policy(policy)
    except InvalidInput as err:
        raise InvalidInput(f"the guardrails profile is refused: {err}", source=str(path),
                           field=f"schedules.{i}.policy", value=str(policy)) from None
    if loaded.approval.required:
        raise InvalidInput("requires approval (the two-person rule), which an unattended "
                           "GameDay cannot wait for", source=str(path),
                           field=f"schedules.{i}.policy", value=str(policy),
                           fix="Schedule under a profile without approval.required")
    return loaded


def due_times(schedule: Schedule, after: float, until: float) -> list[float]:
    """The due times in (after, until], oldest first, at most the newest MAX_DUE."""
    out: list[float] = []
    at = after
    while len(out) < MAX_DUE * 2:
        at = schedule.next_due(at)
        if at > until:
            break
        out.append(at)
    return out[-MAX_DUE:]
