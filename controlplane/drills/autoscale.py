"""The matcher autoscaling drill: order load past one matcher's capacity, the closed loop
(MatcherSaturated -> control plane -> matcher-autoscaling runbook -> scale out), and what
clients saw: when p99 came back under the SLO, and that no acknowledged order was lost and
none filled twice.

Timeline (drill events in the store, like the ledger drill's):
    load_started -> alerted -> runbook_started -> scale_out (the runbook's step began)
    -> instance_ready (the new matcher loaded its books) -> rebalanced (gateways route by the
    new shard map) -> p99_recovered -> runbook_done -> rpo_checked

The drill only drives load and watches: the scale-out is the runbook's, run by the
control-plane service (started with `--runbooks`, as `cluster up` does).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import yaml

from controlplane.application.events import Event, EventSink, discard
from controlplane.drills.autoscale_model import AutoscaleOutcome, AutoscaleSettings, p99_ms
from controlplane.drills.autoscale_slo import gateway_p99_ms, gateway_sli, slo_window
from controlplane.drills.loop import collect_loop
from controlplane.drills.model import DrillPlan, Timeline
from controlplane.errors import PlatformError
from controlplane.meter import OrderWriter, measure_rpo, outcome_counts, present_orders
from controlplane.meter.prices import current_prices
from controlplane.observe.prometheus import PrometheusClient
from controlplane.platform.base import Platform
from controlplane.store import Store
from controlplane.store.runbooks import ACTIVE_RUN_STATES
from controlplane.topology import DEFAULT_TOPOLOGY, Topology, parse_topology

__all__ = ["AutoscaleDrill", "AutoscaleOutcome", "AutoscaleSettings", "autoscale_topology",
           "engine_capacity", "ledger_consistency"]

_MISFILLED = """
select count(*) from orders o
 where o.account = $1
   and o.filled <> coalesce((select sum(t.quantity) from trades t
                              where t.buy_order_id = o.order_id
                                 or t.sell_order_id = o.order_id), 0)"""
_CROSSED = """
select symbol from orders
 where status in ('new', 'partially_filled') and symbol = any($1::text[])
 group by symbol
having max(price_ticks) filter (where side = 'buy')
       >= min(price_ticks) filter (where side = 'sell')"""


def engine_capacity(platform: Platform, component: str = "matcher") -> float | None:
    """Orders a second one instance of `component` takes under the engine model (its
    `engine_cost_ms`); None when it has no model, so no load here can saturate it."""
    settings = platform.topology().services[component].typed_settings()
    cost = getattr(settings, "engine_cost_ms", 0.0)
    return 1000.0 / cost if cost > 0 else None


def autoscale_topology(engine_cost_ms: float = 20.0) -> Topology:
    """The shipped topology with one matcher whose engine takes `engine_cost_ms` an order
    (1000 / cost orders/s of capacity), so that a load on two cores can saturate it."""
    data = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    data["name"] = "reference-trading-autoscale"
    data["services"]["matcher"]["instances"] = 1
    data["services"]["matcher"].setdefault("settings", {})["engine_cost_ms"] = engine_cost_ms
    return parse_topology(data, f"{DEFAULT_TOPOLOGY} (one matcher, {engine_cost_ms:g} ms an "
                                "order)")


async def ledger_consistency(dsn: str, account: str, symbols: list[str]) -> tuple[int, list[str]]:
    """(orders of `account` whose `filled` differs from the sum of their trades, symbols whose
    open orders cross): both stay 0 / empty unless two matchers committed on one book."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        misfilled = await conn.fetchval(_MISFILLED, account, timeout=30)
        crossed = [r["symbol"] for r in await conn.fetch(_CROSSED, symbols, timeout=30)]
    finally:
        await conn.close()
    return int(misfilled), crossed


class AutoscaleDrill:
    """The autoscaling drill: `prepare()` reads the cluster and says what to record,
    `measure()` runs it under that record's id (see controlplane.application.drills); each
    timeline point goes to the store and `sink`."""

    kind = "matcher-autoscale"

    def __init__(self, platform: Platform, store: Store, settings: AutoscaleSettings,
                 sink: EventSink = discard) -> None:
        self.platform = platform
        self.store = store
        self.settings = settings
        self.sink = sink
        self.timeline = Timeline()
        self._seen: set[str] = set()
        self.prometheus: PrometheusClient | None = None
        self.recovered_at: float | None = None
        self._found: tuple[str, int, float | None] | None = None   # gateway, before, capacity

    def _event(self, drill_id: int, kind: str, at: float, message: str) -> None:
        if kind in self._seen:
            return
        self._seen.add(kind)
        self.timeline.add(kind, at, message)
        self.store.add_drill_event(drill_id, at, kind, {"message": message})
        self.sink(Event("drill", kind, message, record=str(drill_id), at=at))

    async def prepare(self) -> DrillPlan:
        """The gateway, Prometheus and the instances running now; refuses a rate the running
        instances can take (nothing would saturate)."""
        s = self.settings
        info = await asyncio.to_thread(self.platform.info)
        gateway = _first_endpoint(info, "gateway")
        self.prometheus = PrometheusClient(_first_endpoint(info, "prometheus"), timeout=5)
        before = len(info.of_component(s.component))
        capacity = self._capacity()
        if capacity is not None and s.rate <= capacity * before:
            raise PlatformError(f"rate {s.rate:g}/s does not exceed the capacity of the "
                                f"{before} running {s.component} instances "
                                f"({capacity * before:g}/s); raise the rate")
        self._found = (gateway, before, capacity)
        return DrillPlan(self.kind, s.component, {
            **s.as_params(), "instances_before": before, "capacity_per_instance": capacity})

    async def measure(self, drill_id: int) -> AutoscaleOutcome:
        """The drill itself, its events recorded under `drill_id`."""
        if self._found is None:
            raise RuntimeError("AutoscaleDrill.measure called before prepare(); call "
                               "prepare() first, as controlplane.application.drills does")
        gateway, before, capacity = self._found
        return await self._drill(drill_id, gateway, before, capacity)

    def _capacity(self) -> float | None:
        return engine_capacity(self.platform, self.settings.component)

    async def _drill(self, drill_id: int, gateway: str, before: int,
                     capacity: float | None) -> AutoscaleOutcome:
        s = self.settings
        prices = await current_prices(gateway, s.symbols)
        writer = OrderWriter(gateway, s.rate, symbols=s.symbols, prices=prices,
                             account=f"autoscale-{uuid.uuid4().hex[:8]}", timeout=s.timeout_s)
        t0 = time.time()
        load = asyncio.create_task(writer.run(s.max_wait_s + 5))
        self._event(drill_id, "load_started", t0, f"order traffic at {s.rate:g}/s (open model)"
                    + (f", {before} x {capacity:g}/s of matcher capacity" if capacity else ""))
        try:
            scale = await self._watch(drill_id, writer, t0, before)
        finally:
            writer.stop()
            attempts = await load
        return await self._conclude(drill_id, writer, attempts, t0, before, capacity, scale)

    async def _watch(self, drill_id: int, writer: OrderWriter, t0: float,
                     before: int) -> dict[str, object]:
        """Record the loop as it happens; return once a whole `window_s` window after the
        scale-out met the latency SLO both at the gateway (the SLO's own measure) and for the
        meter's orders answered in it, and the runbook run is over (its verification needs
        the traffic), or at `max_wait_s`."""
        s = self.settings
        scale: dict[str, object] = {}
        deadline = t0 + s.max_wait_s
        while time.time() < deadline:
            ev = await collect_loop(self.store, s.alert, s.runbook, t0, wait_s=0)
            for kind, at, message in ev.events():
                if kind != "runbook_done":
                    self._event(drill_id, "scale_out" if kind == "first_action" else kind,
                                at, message)
            scale = await asyncio.to_thread(self._scale_state, t0, before) or scale
            self._scale_events(drill_id, scale)
            switched = scale.get("switched_at")
            now = time.time()
            if self.recovered_at is None and isinstance(switched, float) \
                    and now >= switched + s.window_s:
                await self._check_recovered(drill_id, writer, now)
            if self.recovered_at is not None and ev.run_state not in ACTIVE_RUN_STATES:
                break                  # the runbook's own verification saw traffic too
            await asyncio.sleep(0.5)
        return scale

    async def _check_recovered(self, drill_id: int, writer: OrderWriter, now: float) -> None:
        s, window = self.settings, round(self.settings.window_s)
        sli = await asyncio.to_thread(gateway_sli, self._prom(), now, window,
                                      s.slo_p99_ms / 1000)
        client = p99_ms([a for a in writer.attempts if now - window <= a.done < now])
        if sli is None or sli < 0.99 or client is None or client >= s.slo_p99_ms:
            return
        self.recovered_at = now - window
        p99 = await asyncio.to_thread(gateway_p99_ms, self._prom(), now, window)
        self._event(drill_id, "p99_recovered", self.recovered_at,
                    f"order p99 under {s.slo_p99_ms:g} ms again over the next {window} s: "
                    f"{sli:.1%} within it at the gateway (p99 about {p99 or 0:.0f} ms), "
                    f"client p99 {client:.0f} ms")

    def _scale_events(self, drill_id: int, scale: dict[str, object]) -> None:
        ready, switched = scale.get("ready_at"), scale.get("switched_at")
        if isinstance(ready, float):
            self._event(drill_id, "instance_ready", ready,
                        f"{scale['instance']} ready: its books are claimed and loaded")
        if isinstance(switched, float):
            self._event(drill_id, "rebalanced", switched,
                        "every gateway routes by the new shard map")

    def _prom(self) -> PrometheusClient:
        assert self.prometheus is not None
        return self.prometheus

    def _scale_state(self, t0: float, before: int) -> dict[str, object] | None:
        """The scale-out as the platform reports it (the local supervisor keeps a report with
        exact times); else as seen from outside: one more instance, and it is ready."""
        reports = getattr(self.platform, "scale_reports", None)
        if reports is not None:
            for r in reports():          # the first scale-out after the load started
                if r["direction"] == "out" and r["component"] == self.settings.component \
                        and r["started"] >= t0 and not r["error"]:
                    return {"instance": r["instance"], "ready_at": r["ready_at"],
                            "switched_at": r["switched_at"]}
            return None
        instances = self.platform.instances(self.settings.component)
        if len(instances) > before and all(i.health.ready for i in instances):
            now = time.time()
            return {"instance": instances[-1].id, "ready_at": now, "switched_at": now}
        return None

    async def _conclude(self, drill_id: int, writer: OrderWriter, attempts, t0: float,
                        before: int, capacity: float | None,
                        scale: dict[str, object]) -> AutoscaleOutcome:
        s = self.settings
        ready = scale.get("ready_at") if isinstance(scale.get("ready_at"), float) else None
        switched = scale.get("switched_at") if isinstance(scale.get("switched_at"),
                                                          float) else None
        self._scale_events(drill_id, scale)
        loop = await collect_loop(self.store, s.alert, s.runbook, t0, wait_s=30)
        for kind, at, message in loop.events():
            self._event(drill_id, "scale_out" if kind == "first_action" else kind, at, message)
        dsn = self.platform.ledger_dsn()
        rpo = measure_rpo(writer.acked(), await present_orders(
            dsn, [a.order_id for a in writer.acked()]))
        misfilled, crossed = await ledger_consistency(dsn, writer.account, list(s.symbols))
        self._event(drill_id, "rpo_checked", time.time(),
                    f"{rpo.lost} of {rpo.acknowledged} acknowledged orders missing; "
                    f"{misfilled} misfilled orders; crossed books: {crossed or 'none'}")
        scale_from = loop.first_action_at or switched or time.time()
        back = self.recovered_at
        before_w = await asyncio.to_thread(slo_window, self._prom(), t0, scale_from)
        after_w = None if back is None else await asyncio.to_thread(
            slo_window, self._prom(), back, back + s.window_s, s.slo_p99_ms / 1000)
        return AutoscaleOutcome(
            settings=s, load_started_at=t0, instances_before=before,
            instances_after=len(await asyncio.to_thread(self.platform.instances, s.component)),
            capacity_per_instance=capacity, alerted_at=loop.alerted_at,
            scale_out_at=loop.first_action_at,
            new_instance=str(scale["instance"]) if scale.get("instance") else None,
            instance_ready_at=ready, switched_at=switched, p99_recovered_at=back,
            p99_before_ms=before_w.p99_ms,
            p99_after_ms=None if after_w is None else after_w.p99_ms,
            sli_after=None if after_w is None else after_w.good_ratio,
            client_p99_before_ms=p99_ms([a for a in attempts if t0 <= a.done < scale_from]),
            client_p99_after_ms=None if back is None else p99_ms(
                [a for a in attempts if back <= a.done < back + s.window_s]),
            rpo=rpo, double_fills=misfilled, crossed_books=crossed,
            outcomes=outcome_counts(attempts),
            loop=loop, timeline=self.timeline, attempts=attempts)


def _first_endpoint(info, kind: str) -> str:
    for component in info.components:
        if component.kind == kind:
            return info.of_component(component.name)[0].endpoints["http"]
    raise PlatformError(f"the cluster has no {kind} component")
