"""The matcher's capacity model: a real matching engine is single-threaded per instance.

Every order (and cancel) takes its turn on the instance's engine and holds it for the
configured per-order cost, one at a time; so one instance handles at most 1000 / cost_ms
orders a second, however many cores the machine has, and more instances (more shards) add
capacity. The cost is modelled as time the engine is held (an asyncio sleep under the lock),
not as CPU burnt: on a shared 2-core machine burning CPU would measure the machine, not the
engine. With cost 0 (the default) there is no engine stage at all: today's behaviour.

Metrics, all truthful for the model: `matcher_engine_queue_depth` (orders waiting for, or
holding, the engine), `matcher_engine_busy_seconds_total` (engine time used: its rate is the
busy ratio),
`matcher_engine_cost_seconds` (the configured cost) and `matcher_engine_orders_total`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["EngineMetrics", "EngineModel"]


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry, cost_s: float) -> None:
        self.queue_depth = Gauge("matcher_engine_queue_depth",
                                 "Orders waiting for (or holding) the single-threaded "
                                 "matching engine",
                                 registry=registry)
        self.busy = Counter("matcher_engine_busy_seconds_total",
                            "Engine time used by orders (its rate is the busy ratio)",
                            registry=registry)
        self.orders = Counter("matcher_engine_orders_total",
                              "Orders and cancels that went through the engine",
                              registry=registry)
        self.cost = Gauge("matcher_engine_cost_seconds",
                          "Modelled engine time per order (0: no capacity model)",
                          registry=registry)
        self.cost.set(cost_s)


class EngineModel:
    """A single server with a deterministic service time, kept on its own schedule: each order
    reserves the engine from when it is free (or from its arrival) for `cost_s`, and waits
    until its slot ends. Scheduling from the reservation, not from when the event loop wakes
    up, keeps the modelled capacity exact on a loaded machine (timer overshoot does not pile
    up), and FIFO order comes with the reservations."""

    def __init__(self, cost_s: float, metrics: EngineMetrics | None = None, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if cost_s < 0:
            raise ValueError(f"engine cost must be 0 or more seconds (got {cost_s})")
        self.cost_s = cost_s
        self._metrics = metrics
        self._sleep = sleep
        self._clock = clock
        self._free_at = 0.0

    @property
    def capacity_per_s(self) -> float | None:
        """Orders a second one instance can take; None when unbounded (no model)."""
        return 1.0 / self.cost_s if self.cost_s > 0 else None

    def backlog_s(self) -> float:
        """How long an order arriving now would wait before its turn."""
        return max(0.0, self._free_at - self._clock())

    async def process(self) -> None:
        """Take the next free slot of the engine and wait until it has passed."""
        if self.cost_s <= 0:
            return
        now = self._clock()
        self._free_at = max(now, self._free_at) + self.cost_s
        done_at = self._free_at
        metrics = self._metrics
        if metrics is not None:
            metrics.queue_depth.inc()
        try:
            await self._sleep(done_at - now)
        finally:
            if metrics is not None:
                metrics.queue_depth.dec()
                metrics.busy.inc(self.cost_s)
                metrics.orders.inc()
