"""Exchange calendars for freeze windows: each session's open and close as the exchange keeps
them (holidays, early closes), from the maintained `exchange-calendars` package rather than a
hand-kept list of dates.

`exchange_calendars` pulls in pandas, so it is imported only when a policy names a calendar.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from controlplane.errors import GuardrailRefused

__all__ = ["calendar_names", "session_freeze"]


@lru_cache(maxsize=8)
def _calendar(name: str) -> Any:
    import exchange_calendars

    return exchange_calendars.get_calendar(name)


def calendar_names() -> list[str]:
    import exchange_calendars

    return sorted(exchange_calendars.get_calendar_names(include_aliases=False))


def session_freeze(name: str, now: datetime, before: timedelta, after: timedelta
                   ) -> str | None:
    with warnings.catch_warnings():             # pandas' deprecations inside the package
        warnings.filterwarnings("ignore", module="pandas")
        warnings.filterwarnings("ignore", module="exchange_calendars")
        return _session_freeze(name, now, before, after)


def _session_freeze(name: str, now: datetime, before: timedelta, after: timedelta
                    ) -> str | None:
    """Why `now` is frozen: inside one of calendar `name`'s sessions, widened by `before` the
    open and `after` the close; None outside every session (nights, weekends, holidays).
    A date the calendar does not cover is refused, not guessed."""
    cal = _calendar(name)
    zone = ZoneInfo(str(cal.tz))
    local = now.astimezone(zone)
    first, last = cal.first_session.date(), cal.last_session.date()
    if not first <= local.date() <= last:
        raise GuardrailRefused("freeze-window", f"the {name} calendar covers {first} to "
                               f"{last}, not {local:%Y-%m-%d}", "Upgrade exchange-calendars, "
                               "or run against a policy without freeze.calendar")
    for day in (local.date() - timedelta(days=1), local.date(), local.date() + timedelta(1)):
        why = _in_session(cal, name, day, now, before, after, zone)
        if why:
            return why
    return None


def _in_session(cal: Any, name: str, day: date, now: datetime, before: timedelta,
                after: timedelta, zone: ZoneInfo) -> str | None:
    label = day.isoformat()
    if not (cal.first_session.date() <= day <= cal.last_session.date()) or not \
            cal.is_session(label):
        return None
    opens = cal.session_open(label).to_pydatetime().astimezone(zone)
    closes = cal.session_close(label).to_pydatetime().astimezone(zone)
    if not opens - before <= now < closes + after:
        return None
    early = " (an early close)" if any(t.date() == day for t in cal.early_closes) else ""
    return (f"{name} session {label}: open {opens:%H:%M} to close {closes:%H:%M}{early} "
            f"{zone.key}, frozen {opens - before:%H:%M} to {closes + after:%H:%M} "
            f"(now {now.astimezone(zone):%H:%M})")
