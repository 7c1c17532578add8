"""Guardrails read from policies/: blast radius, freeze windows from a trading calendar, an
error-budget gate, one experiment per target at a time, and the halt switch."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from controlplane.errors import GuardrailRefused, InvalidInput
from controlplane.host.procs import alive
from controlplane.project import project_file
from controlplane.userfiles import first_error, read_document

__all__ = [
    "DEFAULT_POLICY",
    "Approval",
    "Policy",
    "TargetLocks",
    "check_blast_radius",
    "check_error_budget",
    "check_freeze",
    "iana_zone",
    "load_policy",
]

DEFAULT_POLICY = project_file("policies/chaos-guardrails.yaml")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")



def iana_zone(v: str) -> str:
    """A field validator's body: `v` if it names an IANA time zone, else a ValueError."""
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone; use an IANA name like America/New_York") from None
    return v

class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BlastRadius(_M):
    max_instance_share: float = Field(0.5, gt=0, le=1)
    never_all_of: list[str] = ["ledger"]


class Window(_M):
    days: list[Day]
    start: dtime
    end: dtime
    reason: str = "freeze window"


class Freeze(_M):
    enabled: bool = False
    timezone: str = "America/New_York"
    windows: list[Window] = []
    holidays: list[str] = []
    # an exchange calendar (exchange-calendars: XNYS, XSHG, XSHE, XHKG, ...): each of its
    # sessions is frozen from `before_open_min` before the open to `after_close_min` after
    # the close, early closes and holidays as the exchange keeps them
    calendar: str | None = None
    before_open_min: int = Field(0, ge=0, le=720)
    after_close_min: int = Field(0, ge=0, le=720)

    @field_validator("calendar")
    @classmethod
    def _calendar(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from controlplane.chaos.calendars import calendar_names

        names = calendar_names()
        if v not in names:
            raise ValueError(f"unknown exchange calendar; e.g. XNYS, XSHG, XSHE, XHKG "
                             f"({len(names)} in exchange-calendars)")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return iana_zone(v)

    @field_validator("holidays")
    @classmethod
    def _dates(cls, v: list[str]) -> list[str]:
        for d in v:
            datetime.strptime(d, "%Y-%m-%d")
        return v


class ErrorBudget(_M):
    service: str = "gateway"
    slo: float = Field(0.95, gt=0, lt=1)
    window_s: int = Field(300, ge=10, le=400 * 86400)   # up to 400 days, as SLO windows
    min_remaining: float = Field(0.1, ge=0, le=1)
    wait_s: float = Field(0, ge=0, le=3600)


class SteadyState(_M):
    check_interval_s: float = Field(0.5, gt=0, le=1.0)
    min_history_s: int = Field(20, ge=0, le=3600)   # SLO history needed before a run
    cooldown_s: float = Field(15, ge=0, le=3600)    # between runs: let SLO windows clear
    recovery_timeout_s: float = Field(120, gt=0, le=3600)
    allow_hold: bool = True     # experiments tagged guard:hold keep their faults past a breach


class Load(_M):
    rate: float = Field(20, ge=0, le=500)


class Approval(_M):
    """The two-person rule: a run under this profile waits until `approvers` people other
    than the one who asked approved it, each with a fresh TOTP code."""

    required: bool = False
    approvers: int = Field(1, ge=1, le=5)


class Policy(_M):
    approval: Approval = Approval()
    blast_radius: BlastRadius = BlastRadius()
    freeze: Freeze = Freeze()
    error_budget: ErrorBudget = ErrorBudget()
    steady_state: SteadyState = SteadyState()
    load: Load = Load()


def load_policy(path: Path | None = None) -> Policy:
    """The guardrails policy. An empty file, or one without a `freeze` section, is refused: a
    truncated policy must not silently become the defaults with every freeze window off."""
    path = path or DEFAULT_POLICY
    data = read_document(path, fix="Write the policy out in full (see "
                         "policies/chaos-guardrails.yaml); to lift freezes, say "
                         "`freeze: {enabled: false}`")
    if not isinstance(data, dict):
        raise InvalidInput("a guardrails policy is a mapping of sections", source=str(path),
                           field="(top level)", value=type(data).__name__,
                           fix="See policies/chaos-guardrails.yaml for the format")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as err:
        field, message, value = first_error(err.errors())
        raise InvalidInput(message, source=str(path), field=field, value=value,
                           fix="See policies/chaos-guardrails.yaml for the format") from None
    if "freeze" not in data:
        raise InvalidInput("the freeze section is missing, which would lift every freeze "
                           "window", source=str(path), field="freeze",
                           fix="Add the freeze windows, or `freeze: {enabled: false}` to "
                           "lift them on purpose")
    return policy


def check_freeze(freeze: Freeze, now: datetime) -> None:
    if not freeze.enabled:
        return
    local = now.astimezone(ZoneInfo(freeze.timezone))
    how = ("Wait for the window to end, or run against a lab policy (--policy) where freezes "
           "do not apply")
    if freeze.calendar:
        from controlplane.chaos.calendars import session_freeze

        why = session_freeze(freeze.calendar, now, timedelta(minutes=freeze.before_open_min),
                             timedelta(minutes=freeze.after_close_min))
        if why:
            raise GuardrailRefused("freeze-window", why, how)
    if local.strftime("%Y-%m-%d") in freeze.holidays:
        raise GuardrailRefused("freeze-window", f"{local:%Y-%m-%d} is a trading-calendar "
                               "holiday freeze", how)
    day = DAYS[local.weekday()]
    for w in freeze.windows:
        if day in w.days and w.start <= local.time() < w.end:
            raise GuardrailRefused("freeze-window", f"{w.reason}: {day} {w.start:%H:%M}-"
                                   f"{w.end:%H:%M} {freeze.timezone} (now {local:%H:%M})", how)


@dataclass(frozen=True)
class Planned:
    """One planned fault, resolved: the component and instances it hits (and its peers)."""

    component: str
    instances: list[str]
    peer_component: str | None = None
    peers: tuple[str, ...] = ()


def check_blast_radius(radius: BlastRadius, planned: list[Planned],
                       sizes: dict[str, int], already_hit: dict[str, set[str]]) -> None:
    hit: dict[str, set[str]] = {}
    for p in planned:
        hit.setdefault(p.component, set()).update(p.instances)
        if p.peer_component:
            hit.setdefault(p.peer_component, set()).update(p.peers)
    for comp, insts in hit.items():
        total = sizes.get(comp, len(insts))
        allowed = max(1, int(radius.max_instance_share * total))
        own = {i for p in planned if p.component == comp for i in p.instances}
        if len(own) > allowed:
            raise GuardrailRefused(
                "blast-radius", f"{len(own)} of {total} {comp} instances at once; the policy "
                f"allows {allowed} ({radius.max_instance_share:.0%})",
                "Target fewer instances (pick: one), or raise blast_radius.max_instance_share")
        both = own | already_hit.get(comp, set())
        if comp in radius.never_all_of and total and own and len(both) >= total:
            raise GuardrailRefused(
                "blast-radius", f"every {comp} instance would be under a fault at once "
                f"({', '.join(sorted(both))})",
                f"Never hit all of {comp}: wait for other experiments to finish, or target "
                "one node")


def check_error_budget(budget: ErrorBudget, availability: float) -> float:
    """Remaining share of the error budget; refuses below the policy's minimum."""
    allowed_bad = 1 - budget.slo
    remaining = 1 - (1 - availability) / allowed_bad
    if remaining < budget.min_remaining:
        raise GuardrailRefused(
            "error-budget", f"{max(remaining, 0):.0%} of the {budget.service} error budget is "
            f"left over the last {budget.window_s} s (availability {availability:.4%} against "
            f"an objective of {budget.slo:.2%}); the policy needs {budget.min_remaining:.0%}",
            "Wait until the service has earned budget back, or lower error_budget.min_remaining")
    return remaining


class TargetLocks:
    """One experiment per target: a lock file per instance, held by a live process."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def acquire(self, run_id: str, instances: list[str]) -> list[Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        taken: list[Path] = []
        try:
            for inst in sorted(set(instances)):
                taken.append(self._take(run_id, inst))
        except GuardrailRefused:
            self.release(taken)
            raise
        return taken

    def _take(self, run_id: str, inst: str) -> Path:
        path = self.root / f"{inst}.lock"
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder, _, pid = path.read_text().partition(" ")
                if pid.strip().isdigit() and alive(int(pid)):
                    raise GuardrailRefused(
                        "one-experiment-per-target", f"{inst} is already the target of run "
                        f"{holder} (pid {pid.strip()})",
                        "Wait for it to finish, or stop it with `controlplane chaos halt`"
                        ) from None
                path.unlink(missing_ok=True)          # a stale lock of a dead runner
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{run_id} {os.getpid()}")
            return path
        raise GuardrailRefused("one-experiment-per-target", f"cannot lock {inst}",
                               "Try again")

    @staticmethod
    def release(paths: list[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)
