"""The gateway's journal of acknowledgements: every order it answered 201 for, with the
sequence id and the time, in bounded memory. After a failover, a runbook reads it back
(`GET /admin/acks?since=...`) and checks that the new primary holds every one of them: the RPO
as the server side saw it, without needing the clients' records.

The journal lives in the gateway process, so a gateway restart empties it; `oldest` and
`complete` tell the reader which span it really covers.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["AckJournal"]


@dataclass(frozen=True, slots=True)
class _Ack:
    at: float
    order_id: str
    seq: int


class AckJournal:
    def __init__(self, capacity: int = 200_000, clock: Callable[[], float] = time.time) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 (got {capacity})")
        self._acks: deque[_Ack] = deque(maxlen=capacity)
        self._clock = clock
        self._started = clock()
        self._dropped = 0

    def record(self, order_id: str, seq: int) -> None:
        if len(self._acks) == self._acks.maxlen:
            self._dropped += 1
        self._acks.append(_Ack(self._clock(), order_id, seq))

    def since(self, since: float, limit: int = 100_000) -> dict[str, Any]:
        """Acknowledgements at or after `since` (oldest first, at most `limit`). `complete` is
        False when part of the span asked for is no longer (or was never) in the journal."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1 (got {limit})")
        oldest = self._acks[0].at if self._acks else self._clock()
        covers_from = oldest if self._dropped else self._started
        picked = [a for a in self._acks if a.at >= since]
        truncated = len(picked) > limit
        picked = picked[:limit]
        return {"since": since, "covers_from": covers_from,
                "complete": covers_from <= since and not truncated,
                "truncated": truncated, "count": len(picked),
                "acks": [{"order_id": a.order_id, "seq": a.seq, "at": a.at} for a in picked]}
