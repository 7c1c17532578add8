"""The drill use cases: ledger failover, ledger hang and matcher autoscaling.

Each one lets its drill find the cluster, writes the drill's record, runs the drill under that
record's id and finishes the record with the outcome. The outcome it returns carries the id
the store gave at insert (`drill_id`), and every `Event` on the sink carries it too (`record`),
the first being `recorded`. So drills run at the same time, against one store, never mix up
their records: nothing here asks the store for "the latest drill".
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol, TypeVar

from controlplane.application.events import Event, EventSink, discard
from controlplane.drills.autoscale import AutoscaleDrill, engine_capacity
from controlplane.drills.autoscale_model import AutoscaleOutcome, AutoscaleSettings
from controlplane.drills.ledger_failover import LedgerFailoverDrill
from controlplane.drills.ledger_hang import LedgerHangDrill
from controlplane.drills.model import DrillOutcome, DrillPlan, DrillSettings
from controlplane.errors import InvalidInput
from controlplane.platform.base import Platform
from controlplane.store import Store

__all__ = ["autoscale_drill", "ledger_failover_drill", "ledger_hang_drill", "run_recorded"]


class _Outcome(Protocol):
    @property
    def state(self) -> str: ...

    def result(self) -> dict[str, object]: ...


OutcomeT = TypeVar("OutcomeT", bound=_Outcome)
OutcomeT_co = TypeVar("OutcomeT_co", bound=_Outcome, covariant=True)


class _Drill(Protocol[OutcomeT_co]):
    """What a drill offers its use case (LedgerFailoverDrill, AutoscaleDrill)."""

    async def prepare(self) -> DrillPlan: ...

    async def measure(self, drill_id: int) -> OutcomeT_co: ...


async def run_recorded(drill: _Drill[OutcomeT], store: Store,
                       sink: EventSink = discard) -> OutcomeT:
    """Prepare `drill`, write its record, measure under that record and finish it (aborted,
    with the error, if the drill raised); the outcome with `drill_id` set to the record's."""
    plan = await drill.prepare()
    record = store.create_drill(plan.kind, plan.target, plan.params)
    sink(Event("drill", "recorded", f"drill #{record.id}: {plan.kind} on {plan.target}",
               record=str(record.id), data={"drill_id": record.id, "kind": plan.kind,
                                            "target": plan.target}))
    try:
        outcome = await drill.measure(record.id)
    except BaseException as err:
        store.finish_drill(record.id, "aborted", {"error": repr(err)[:500]})
        raise
    store.finish_drill(record.id, outcome.state, outcome.result())  # type: ignore[arg-type]
    return replace(outcome, drill_id=record.id)  # type: ignore[type-var]  # both dataclasses


async def ledger_failover_drill(platform: Platform, store: Store, settings: DrillSettings,
                                sink: EventSink = discard) -> DrillOutcome:
    """Kill the ledger primary under steady order traffic; RTO, RPO and the closed loop."""
    return await run_recorded(LedgerFailoverDrill(platform, store, settings, sink), store, sink)


async def ledger_hang_drill(platform: Platform, store: Store, settings: DrillSettings,
                            sink: EventSink = discard) -> DrillOutcome:
    """Freeze the ledger primary for `settings.hold_s` under traffic, resume it, and check
    every acknowledged order on each node and in the gateways' journals."""
    return await run_recorded(LedgerHangDrill(platform, store, settings, sink), store, sink)


async def autoscale_drill(platform: Platform, store: Store, settings: AutoscaleSettings,
                          sink: EventSink = discard) -> AutoscaleOutcome:
    """Offer order load past the matchers' capacity and measure the autoscaling loop; refused
    (nothing recorded) when the running matcher has no engine model to saturate."""
    require_engine_model(platform, settings.component)
    return await run_recorded(AutoscaleDrill(platform, store, settings, sink), store, sink)


def require_engine_model(platform: Platform, component: str = "matcher") -> None:
    """Refuse a cluster whose `component` has no engine cost: no load this machine can offer
    saturates it, so the loop would never start."""
    if engine_capacity(platform, component) is None:
        raise InvalidInput("the running cluster's matcher has no engine cost, so no load this "
                           "machine can offer saturates it",
                           field=f"{component}.settings.engine_cost_ms", value=0,
                           fix="Start a cluster whose topology sets it, e.g. 20 (50 orders/s "
                               "per matcher), as `make demo` does")
