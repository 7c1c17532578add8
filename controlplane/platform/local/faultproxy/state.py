"""The fault active on one link, and its time to live.

The fault expires on the injected clock whenever it is read, so an expired fault never
applies even if the timer is late; a timer on the event loop also clears it at expiry so
that listeners (metrics) hear of the change although nobody asked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from controlplane.platform.local.faultproxy.spec import FaultSpec

__all__ = ["ActiveFault", "FaultState"]

Listener = Callable[["FaultSpec | None"], None]


@dataclass(frozen=True)
class ActiveFault:
    spec: FaultSpec
    expires_at: float


class FaultState:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 on_change: Listener = lambda spec: None) -> None:
        self._clock = clock
        self._on_change = on_change
        self._active: ActiveFault | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._changed = asyncio.Event()

    def current(self) -> FaultSpec | None:
        """The active fault, or None (an expired one is cleared on the way)."""
        active = self._active
        if active is None:
            return None
        if self._clock() >= active.expires_at:
            self._replace(None)
            return None
        return active.spec

    def remaining(self) -> float | None:
        """Seconds until the active fault reverts itself, or None."""
        if self.current() is None or self._active is None:
            return None
        return max(0.0, self._active.expires_at - self._clock())

    def set(self, spec: FaultSpec) -> None:
        """Replace any active fault with `spec` for `spec.ttl_s` seconds."""
        active = ActiveFault(spec, self._clock() + spec.ttl_s)
        self._replace(active)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return   # no loop (unit tests): expiry on read still holds
        self._timer = loop.call_later(spec.ttl_s, self._expire, active)

    def clear(self) -> bool:
        """Remove the active fault; whether there was one."""
        had = self.current() is not None
        self._replace(None)
        return had

    def _expire(self, active: ActiveFault) -> None:
        self._timer = None
        if self._active is active:
            self._replace(None)

    async def changed(self) -> None:
        """Return at the next change (set, clear or expiry)."""
        await self._changed.wait()

    def _replace(self, active: ActiveFault | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if active is None and self._active is None:
            return
        self._active = active
        self._changed.set()
        self._changed = asyncio.Event()
        self._on_change(None if active is None else active.spec)
