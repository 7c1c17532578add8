"""Standby-loss drill: partition one synchronous standby from the ledger primary under order
load, and measure what the clients saw while it lasted.

A two-node ledger pays for RPO = 0 with a stall here: every commit waits for the one standby,
which is cut off. A three-node ledger under quorum commit (ANY 1 of two standbys) goes on with
the other standby. The partition is a `network-partition` fault through the fault engine
(recorded before it is injected, verified in force, revertible by `chaos recover`), between the
standby and the primary only: both still reach etcd, so nobody fails over.

What it measures: the order latency of every write intended during the partition, answered
or not (a stalled write that timed out counts at its timeout), from the intended send time;
and the acknowledged orders missing through HAProxy (RPO) and on each node, asked directly.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.drills.ledger_failover import every_standby_sync
from controlplane.drills.ledger_hang import node_missing
from controlplane.errors import PlatformError
from controlplane.meter import (
    Attempt,
    OrderWriter,
    measure_rpo,
    outcome_counts,
    percentile,
    present_orders,
)
from controlplane.meter.prices import current_prices
from controlplane.platform.base import Platform

__all__ = ["StandbyLossOutcome", "StandbyLossSettings", "during", "standby_loss_drill"]

SYMBOLS = ("AAPL", "MSFT")


@dataclass(frozen=True)
class StandbyLossSettings:
    rate: float = 40.0          # orders/s, open model
    warmup_s: float = 5.0       # load before the partition
    hold_s: float = 15.0        # how long the standby is cut off
    tail_s: float = 5.0         # load after the partition heals
    ready_wait_s: float = 90.0  # for a primary and every standby synchronous, before
    catch_up_s: float = 30.0    # a healed standby may take this long to replay what it missed


@dataclass
class StandbyLossOutcome:
    primary: str
    standby: str
    fault_id: int
    fault_at: float
    healed_at: float
    attempts: list[Attempt]
    rpo_orders: int
    node_missing: dict[str, int]
    roles_during: dict[str, str] = field(default_factory=dict)

    def result(self) -> dict[str, Any]:
        window = during(self.attempts, self.fault_at, self.healed_at)
        before = during(self.attempts, self.attempts[0].intended + 1 if self.attempts else 0,
                        self.fault_at)                 # the reference: the same load, no cut
        slow = sorted((a for a in self.attempts if self.fault_at <= a.intended < self.healed_at),
                      key=lambda a: a.latency, reverse=True)[:8]
        return {"primary": self.primary, "standby": self.standby, "fault_id": self.fault_id,
                "hold_s": round(self.healed_at - self.fault_at, 2), **window,
                "p99_ms_before": before["p99_ms_during"],
                "slowest_at_s": [[round(a.intended - self.fault_at, 2),
                                  round(a.latency * 1000, 1)] for a in slow],
                "acked_total": sum(a.ok for a in self.attempts), "rpo_orders": self.rpo_orders,
                "node_missing": self.node_missing, "roles_during": self.roles_during}


def during(attempts: list[Attempt], start: float, end: float) -> dict[str, Any]:
    """Order latency (ms, nearest rank) of the writes intended in [start, end), every outcome
    counted at its own latency, and how they ended."""
    inside = [a for a in attempts if start <= a.intended < end and a.outcome != "skipped"]
    ms = [a.latency * 1000 for a in inside]
    return {"orders_during": len(inside),
            "p50_ms_during": round(percentile(ms, 50), 1) if ms else None,
            "p99_ms_during": round(percentile(ms, 99), 1) if ms else None,
            "max_ms_during": round(max(ms), 1) if ms else None,
            "outcomes_during": outcome_counts(inside)}


def _ledger_roles(platform: Platform) -> dict[str, str]:
    return {i.id: i.health.role if i.health.ready else "not ready"
            for i in platform.instances("ledger")}


async def _redundant(platform: Platform, wait_s: float) -> tuple[str, str]:
    """The primary and the synchronous standby to cut off, once the ledger is fully
    redundant: every node ready, one primary, and as many synchronous standbys as Patroni
    names (every standby under quorum commit; at least one otherwise)."""
    svc = next(s for s in platform.topology().services.values() if s.kind == "ledger")
    deadline = time.monotonic() + wait_s
    while True:
        roles = await asyncio.to_thread(_ledger_roles, platform)
        primaries = [n for n, r in roles.items() if r == "primary"]
        synced = sorted(n for n, r in roles.items() if r == "sync_standby")
        want = len(roles) - 1 if every_standby_sync(svc) else 1
        if (len(primaries) == 1 and len(synced) >= want
                and all(r in ("primary", "sync_standby", "standby") for r in roles.values())
                and await _caught_up(platform.ledger_admin_dsn(primaries[0])) >= want):
            return primaries[0], synced[-1]
        if time.monotonic() >= deadline:
            raise PlatformError(f"the ledger is not fully redundant within {wait_s:g} s "
                                f"(roles {roles}); a standby-loss drill needs every node "
                                f"ready, a primary and {want} synchronous standbys")
        await asyncio.sleep(0.5)


async def _caught_up(dsn: str) -> int:
    """How many standbys stream with the primary's last WAL flushed. Patroni's roles do not
    show a healed standby whose connection still waits on TCP's backed-off retransmission:
    its commits would stall the next drill's reference load."""
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return 0
    try:
        return int(await conn.fetchval(
            "select count(*) from pg_stat_replication where state = 'streaming' and "
            "flush_lsn >= pg_current_wal_flush_lsn()", timeout=3))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return 0
    finally:
        await conn.close(timeout=3)


async def standby_loss_drill(platform: Platform, store_path: Path,
                             settings: StandbyLossSettings,
                             run_id: str | None = None) -> StandbyLossOutcome:
    primary, standby = await _redundant(platform, settings.ready_wait_s)
    engine = FaultEngine(FaultContext(platform, store_path))
    gateway = platform.instances("gateway")[0].endpoints["http"]
    writer = OrderWriter(gateway, settings.rate, symbols=SYMBOLS,
                         prices=await current_prices(gateway, SYMBOLS))
    total = settings.warmup_s + settings.hold_s + settings.tail_s
    load = asyncio.create_task(writer.run(total + 1))
    try:
        await asyncio.sleep(settings.warmup_s)
        fault_id, fault_at, healed_at, roles = await _partition(engine, platform, primary,
                                                                standby, settings, run_id)
        await asyncio.sleep(settings.tail_s)
    finally:
        writer.stop()
        await load
    acked = writer.acked()
    ids = [a.order_id for a in acked]
    nodes = {i.id: platform.ledger_admin_dsn(i.id) for i in platform.instances("ledger")}
    rpo = measure_rpo(acked, await present_orders(platform.ledger_dsn(), ids))
    per_node = await node_missing(nodes, ids, settings.catch_up_s)
    return StandbyLossOutcome(primary, standby, fault_id, fault_at, healed_at,
                              writer.attempts, rpo.lost, per_node, roles)


async def _partition(engine: FaultEngine, platform: Platform, primary: str, standby: str,
                     settings: StandbyLossSettings, run_id: str | None
                     ) -> tuple[int, float, float, dict[str, str]]:
    """Cut `standby` off from `primary` for hold_s, then heal (and verify) it; the ledger's
    roles half-way through. The cut counts from just before the injection: the engine records
    its time after both directions' rules are in, and the first is in force before that."""
    cut_from = time.time()
    fault = await asyncio.to_thread(engine.inject, "network-partition", standby,
                                    {"duration_s": settings.hold_s, "peer": primary}, run_id)
    try:
        if not fault.evidence.ok:
            raise PlatformError(f"{standby} could not be cut off from {primary}: "
                                f"{fault.evidence.observed}")
        await asyncio.sleep(settings.hold_s / 2)
        roles = await asyncio.to_thread(_ledger_roles, platform)
        await asyncio.sleep(max(0.0, fault.injected_at + settings.hold_s - time.time()))
    finally:
        healed_at = time.time()
        evidence = await asyncio.to_thread(engine.revert, fault.id)
    if not evidence.ok:
        raise PlatformError(f"the partition of {standby} is not verified healed: "
                            f"{evidence.observed}")
    return fault.id, cut_from, healed_at, roles
