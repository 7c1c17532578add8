"""Requests sent and not yet answered, by intended start: what a stalled target hides.

A stalled target answers nothing, so a window of *completed* requests shows too few samples
to judge, or none. The users (`controlplane.load.users`) register each request here while it
is in flight; the engine and the workers add the current age of every pending request to the
live window as a lower bound of its latency, so the gates see a stall as it happens.
No imports: it lives in the gevent processes and costs one dict operation per request.
"""

from __future__ import annotations

import itertools
import time

__all__ = ["begin", "end", "pending_ages_us"]

_PENDING: dict[int, float] = {}
_TOKENS = itertools.count()


def begin(intended: float) -> int:
    token = next(_TOKENS)
    _PENDING[token] = intended
    return token


def end(token: int) -> None:
    _PENDING.pop(token, None)


def pending_ages_us(now: float | None = None, limit: int = 5000) -> list[int]:
    """Age (now minus intended start, in microseconds) of up to `limit` pending requests,
    oldest first."""
    now = time.time() if now is None else now
    oldest = sorted(_PENDING.values())[:limit]
    return [max(1, round((now - intended) * 1_000_000)) for intended in oldest]
