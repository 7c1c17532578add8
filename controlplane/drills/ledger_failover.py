"""The ledger failover drill: kill the primary under steady order traffic, measure what clients
saw, reconcile every acknowledged order, and bring the old primary back as a standby.

Timeline of one drill (all recorded as drill events in the store):
    load_started -> fault_injected -> detected (Prometheus scraped the node as down)
    -> alerted (LedgerNoPrimary reached the control plane) -> runbook_started -> first_action
    -> promoted (Patroni made another node primary) -> routed (HAProxy sends writes there)
    -> first_write_ok -> recovered -> rpo_checked -> rejoined (old primary is a standby again)
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass

import aiohttp

from controlplane.application.events import Event, EventSink, discard
from controlplane.chaos.engine import EXPIRY_MARGIN_S
from controlplane.drills.loop import collect_loop
from controlplane.drills.model import DrillOutcome, DrillPlan, DrillSettings, Timeline
from controlplane.drills.watch import FailoverWatcher, first_down_sample
from controlplane.errors import PlatformError, Refused
from controlplane.meter import (
    OrderWriter,
    latency_summary,
    measure_rpo,
    measure_rto,
    outcome_counts,
    present_orders,
)
from controlplane.meter.prices import current_prices
from controlplane.platform.base import ClusterInfo, Platform
from controlplane.store import Fault, Store
from controlplane.topology import LedgerSettings, Service, Targets

__all__ = ["LedgerFailoverDrill"]


@dataclass
class _Cluster:
    ledger: str
    primary: str
    standby: str
    gateway: str
    prometheus: str
    haproxy_stats: str
    patroni_apis: dict[str, str]


def every_standby_sync(svc: Service) -> bool:
    """Whether Patroni makes every standby synchronous: quorum commit lists them all, plain
    synchronous mode the first `synchronous_node_count` (a third node may stay async)."""
    settings: LedgerSettings = svc.typed_settings()
    if settings.synchronous_mode == "quorum":
        return True
    return bool(settings.synchronous_mode) and \
        settings.synchronous_node_count >= svc.instances - 1


def _describe(info: ClusterInfo, target: str | None) -> _Cluster:
    def comp(kind: str) -> str:
        for c in info.components:
            if c.kind == kind:
                return c.name
        raise PlatformError(f"the cluster has no {kind} component")

    ledger = comp("ledger")
    nodes = info.of_component(ledger)
    primary = [n.id for n in nodes if n.health.role == "primary"]
    standbys = [n.id for n in nodes if n.health.role == "sync_standby" and n.health.ready]
    if len(primary) != 1:
        raise PlatformError(f"the ledger has {len(primary)} primaries; a drill needs exactly "
                            "one. Check `controlplane cluster status`")
    if not standbys:
        raise PlatformError("the ledger has no ready synchronous standby, so a failover could "
                            "lose acknowledged orders; wait for it (cluster status shows "
                            "sync_standby) before the drill")
    if target and target != primary[0]:
        raise PlatformError(f"{target} is not the ledger primary ({primary[0]} is)")
    gw = info.of_component(comp("gateway"))[0].endpoints["http"]
    prom = info.of_component(comp("prometheus"))[0].endpoints["http"]
    stats = info.of_component(comp("haproxy"))[0].endpoints["stats"]
    return _Cluster(ledger, primary[0], standbys[0], gw, prom, stats,
                    {n.id: n.endpoints["api"] for n in nodes})


class LedgerFailoverDrill:
    """One ledger drill: `prepare()` finds the cluster and says what to record, `measure()`
    runs it under that record's id. The use case (controlplane.application.drills) writes the
    record between the two and finishes it; each timeline point goes to the store and `sink`."""

    kind = "ledger-failover"

    def __init__(self, platform: Platform, store: Store, settings: DrillSettings,
                 sink: EventSink = discard) -> None:
        self.platform = platform
        self.store = store
        self.settings = settings
        self.sink = sink
        self.timeline = Timeline()
        self._cluster: tuple[_Cluster, Targets] | None = None

    def _event(self, drill_id: int, kind: str, at: float, message: str, **detail: object) -> None:
        self.timeline.add(kind, at, message)
        self.store.add_drill_event(drill_id, at, kind, {"message": message, **detail})
        self.sink(Event("drill", kind, message, record=str(drill_id), data=dict(detail), at=at))

    async def prepare(self) -> DrillPlan:
        """The cluster once ready for the drill, and what its record holds."""
        c = await self._ready_cluster()
        targets = self.platform.topology().targets_for(c.ledger)
        self._cluster = (c, targets)
        return DrillPlan(self.kind, c.primary, {
            **self.settings.as_params(), "standby": c.standby, "targets": targets.model_dump()})

    async def measure(self, drill_id: int) -> DrillOutcome:
        """The drill itself, its events recorded under `drill_id` (the record prepare's plan
        was written to)."""
        if self._cluster is None:
            raise RuntimeError("LedgerFailoverDrill.measure called before prepare(); call "
                               "prepare() first, as controlplane.application.drills does")
        c, targets = self._cluster
        return await self._drill(drill_id, c, targets)

    async def _ready_cluster(self, wait_s: float = 30.0) -> _Cluster:
        """The cluster once it has a primary and a ready synchronous standby (Patroni can
        take a few seconds to name the standby after a restart); the reason if it never does."""
        deadline = time.time() + wait_s
        while True:
            info = await asyncio.to_thread(self.platform.info)
            try:
                return _describe(info, self.settings.target)
            except PlatformError:
                if time.time() >= deadline:
                    raise
            await asyncio.sleep(0.5)

    async def _drill(self, drill_id: int, c: _Cluster, targets) -> DrillOutcome:
        s = self.settings
        prices = await current_prices(c.gateway, s.symbols)
        writer = OrderWriter(c.gateway, s.rate, symbols=s.symbols, prices=prices)
        load = asyncio.create_task(writer.run(s.warmup_s + s.max_wait_s + s.settle_s + 5))
        self._event(drill_id, "load_started", time.time(),
                    f"steady order traffic at {s.rate:g}/s (open model)")
        fault = None
        try:
            await asyncio.sleep(s.warmup_s)
            if not writer.acked():
                raise PlatformError("no order was acknowledged during the warm-up; the cluster "
                                    "is not serving writes, so the drill would measure nothing")
            fault, fault_at = await self._inject(drill_id, c)
            watch = await self._watch(drill_id, c, writer, fault_at)
            await asyncio.sleep(s.settle_s)
        finally:
            writer.stop()
            attempts = await load
            if fault is not None:
                await self._rejoin(drill_id, c, fault.id)
        rpo = measure_rpo(writer.acked(), await present_orders(
            self.platform.ledger_dsn(), [a.order_id for a in writer.acked()]))
        self._event(drill_id, "rpo_checked", time.time(),
                    f"{rpo.lost} of {rpo.acknowledged} acknowledged orders missing")
        extra = await self._more_evidence(drill_id, c, writer)
        detected = await asyncio.to_thread(first_down_sample, c.prometheus, c.ledger,
                                           c.primary, fault_at)
        if detected is not None:
            self._event(drill_id, "detected", detected,
                        f"Prometheus scraped {c.primary} as down (up == 0)")
        loop = await collect_loop(self.store, s.alert, s.runbook, fault_at, s.loop_wait_s)
        for kind, at, message in loop.events():
            self._event(drill_id, kind, at, message)
        return DrillOutcome(
            kind=self.kind, target=c.primary, new_primary=watch.new_primary,
            fault_at=fault_at, detected_at=detected, promoted_at=watch.promoted_at,
            routed_at=watch.routed_at, rto=measure_rto(attempts, fault_at, s.rate), rpo=rpo,
            latency=latency_summary([a for a in attempts if a.intended < fault_at]),
            outcomes=outcome_counts(attempts), targets=targets, settings=s,
            timeline=self.timeline, rejoined_at=self.timeline.at("rejoined"), loop=loop,
            attempts=attempts, **extra)

    async def _more_evidence(self, drill_id: int, c: _Cluster,
                             writer: OrderWriter) -> dict[str, object]:
        """Extra DrillOutcome fields a variant of the drill measures (none here)."""
        return {}

    def _record_fault(self, drill_id: int, kind: str, c: _Cluster,
                      params: dict[str, object]) -> Fault:
        """Record the fault before injecting it, as the fault engine records one: what the
        engine's revert needs, this process as its owner, and an expiry past every wait of the
        drill. The supervisor's reaper reverts it if the drill dies or overruns. With
        --no-rejoin the old primary is left down on purpose: no owner and no expiry then."""
        s = self.settings
        left_down = kind == "process-kill" and not s.rejoin
        ttl = s.hold_s + s.max_wait_s + s.settle_s + 2 * s.rejoin_wait_s + EXPIRY_MARGIN_S
        return self.store.record_fault(
            kind, c.primary, {"kind": kind, "params": params, "target": {
                "component": c.ledger, "instances": [c.primary], "kind": "ledger", "peer": []}},
            run_id=f"drill-{drill_id}", ttl_s=None if left_down else ttl,
            owner_pid=None if left_down else os.getpid(),
            owner_host=None if left_down else socket.gethostname())

    async def _inject(self, drill_id: int, c: _Cluster):
        fault = self._record_fault(drill_id, "process-kill", c, {})
        fault_at = time.time()
        await asyncio.to_thread(self.platform.kill, c.primary)         # SIGKILL: a crash
        self.store.mark_fault_injected(fault.id, fault_at)
        self._event(drill_id, "fault_injected", fault_at,
                    f"SIGKILL to {c.primary}: Patroni and every PostgreSQL process", fault=fault.id)
        return fault, fault_at

    async def _watch(self, drill_id: int, c: _Cluster, writer: OrderWriter, fault_at: float):
        watcher = FailoverWatcher(c.patroni_apis, c.haproxy_stats, c.primary)
        deadline = fault_at + self.settings.max_wait_s
        first_ok = None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as session:
            while time.time() < deadline:
                for kind, at, msg in await watcher.poll(session):
                    self._event(drill_id, kind, at, msg)
                acks = [a.done for a in writer.acked() if a.intended > fault_at]
                if first_ok is None and acks:
                    first_ok = min(acks)
                    self._event(drill_id, "first_write_ok", first_ok,
                                "first order acknowledged after the fault")
                if first_ok and watcher.routed_at and _steady(writer, self.settings.rate):
                    self._event(drill_id, "recovered", time.time(),
                                "writes steady again (1 s of consecutive acknowledgements)")
                    return watcher
                await asyncio.sleep(0.1)
        raise PlatformError(f"no recovery within {self.settings.max_wait_s:g} s of the fault; "
                            "the old primary is restarted, see `controlplane cluster status`")

    async def _rejoin(self, drill_id: int, c: _Cluster, fault_id: int) -> None:
        """Restart the old primary and wait until redundancy is back: a synchronous standby
        when the ledger runs in synchronous mode, any streaming standby otherwise."""
        if not self.settings.rejoin:
            return
        svc = self.platform.topology().services[c.ledger]
        wanted = ("sync_standby",) if every_standby_sync(svc) else ("sync_standby", "standby")
        try:
            await asyncio.to_thread(self.platform.start, c.primary)
        except Refused:                         # the ledger-failover runbook already did
            pass
        deadline = time.time() + self.settings.rejoin_wait_s
        while time.time() < deadline:
            health = await asyncio.to_thread(self.platform.health, c.primary)
            if health.ready and health.role in wanted:
                now = time.time()
                self._fault_reverted(fault_id, now, {"role": health.role})
                self._event(drill_id, "rejoined", now,
                            f"{c.primary} is back as {health.role.replace('_', ' ')}")
                return
            await asyncio.sleep(0.5)
        self._fault_failed(fault_id, f"{c.primary} did not rejoin within "
                                     f"{self.settings.rejoin_wait_s:g} s")


    def _fault_reverted(self, fault_id: int, at: float, detail: dict[str, object]) -> None:
        """The kill is reverted once the old primary is back as a standby."""
        self.store.mark_fault_reverted(fault_id, at, detail)

    def _fault_failed(self, fault_id: int, why: str) -> None:
        self.store.mark_fault_failed(fault_id, why)


def _steady(writer: OrderWriter, rate: float) -> bool:
    """The last second of answers were all acknowledgements (and there were some)."""
    recent = sorted(writer.attempts, key=lambda a: a.intended)[-max(2, int(rate)):]
    return bool(recent) and all(a.ok for a in recent)
