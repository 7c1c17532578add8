"""Traffic shaping arithmetic, with no I/O: delays that never reorder, and a token bucket.

Both take the time as an argument so that they are tested without sleeping.
"""

from __future__ import annotations

import random

from controlplane.platform.local.faultproxy.spec import Direction, FaultSpec

__all__ = ["DelayLine", "TokenBucket", "delay_of", "slice_size"]


def delay_of(spec: FaultSpec | None, direction: Direction, rng: random.Random) -> float:
    """Seconds to hold a chunk on `direction`: latency +- jitter (its share), never negative."""
    if spec is None:
        return 0.0
    share = spec.share(direction)
    latency, jitter = spec.latency_ms * share, spec.jitter_ms * share
    if jitter > 0:
        latency += rng.uniform(-jitter, jitter)
    return max(0.0, latency) / 1000


class DelayLine:
    """When each chunk may leave: its arrival plus its delay, but never before the chunk
    ahead of it, so that jitter cannot reorder bytes."""

    def __init__(self) -> None:
        self._last = float("-inf")

    def due(self, now: float, delay: float) -> float:
        self._last = max(now + delay, self._last)
        return self._last


class TokenBucket:
    """`rate` bytes per second with a burst of `burst` bytes. `reserve(n, now)` takes n
    tokens (the balance may go negative) and says how long to wait before sending them."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self._burst = burst
        self._tokens = burst
        self._at = now

    def reserve(self, size: int, now: float) -> float:
        elapsed = max(0.0, now - self._at)
        self._tokens = min(self._burst, self._tokens + elapsed * self.rate)
        self._at = now
        self._tokens -= size
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


def slice_size(rate: float) -> int:
    """How many bytes to send at a time under `rate` (about 1/20 s worth, 256 B to 16 KiB),
    which is also the bucket's burst: pacing stays smooth at any rate."""
    return int(min(16384, max(256, rate / 20)))
