"""Drill use cases run at the same time against one store: each reports the record it wrote.

No processes: the drills' own code runs on the fake platform (finding the cluster in
`info()`, the record, the events to the store and the sink, finishing the record), with the
measuring step (`_drill`, the part that drives load and faults) replaced at the drill module's
boundary. Each store connection waits after its insert until the other drill has inserted too,
so "the latest drill" is the same record for both: a use case that found its id by listing
would report the wrong one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from controlplane.application.drills import autoscale_drill, ledger_failover_drill
from controlplane.application.events import Event
from controlplane.drills.autoscale import AutoscaleDrill, autoscale_topology
from controlplane.drills.autoscale_model import AutoscaleOutcome, AutoscaleSettings
from controlplane.drills.ledger_failover import LedgerFailoverDrill
from controlplane.drills.loop import LoopEvidence
from controlplane.drills.model import DrillOutcome, DrillSettings
from controlplane.errors import InvalidInput
from controlplane.meter import LatencySummary, RpoResult, RtoResult
from controlplane.platform import Platform
from controlplane.store import Store
from controlplane.topology import DEFAULT_TOPOLOGY, Topology, load_topology
from tests.support.fake_cluster import fake_cluster


def _cluster(root: Path, topology: Topology, primary: str) -> Platform:
    """A fake cluster of `topology` whose ledger primary is `primary`, so each cluster's drill
    targets its own: what the drills read before they act (instances, roles, endpoints,
    topology) comes from the fake platform."""
    platform = fake_cluster(root, topology)
    if primary != "ledger-0":
        platform.promote(primary)  # type: ignore[attr-defined]
    return platform


async def _failover_figures(self: LedgerFailoverDrill, drill_id: int, c: Any,
                            targets: Any) -> DrillOutcome:
    """The failover drill's measuring step, with figures that follow its own settings."""
    t0 = time.time()
    rate = self.settings.rate
    self._event(drill_id, "load_started", t0, f"steady order traffic at {rate:g}/s")
    self._event(drill_id, "fault_injected", t0 + 0.1, f"SIGKILL to {c.primary}")
    acked = int(rate * 10)
    return DrillOutcome(
        kind=self.kind, target=c.primary, new_primary=c.standby, fault_at=t0 + 0.1,
        detected_at=None, promoted_at=t0 + 1.0, routed_at=t0 + 1.2,
        rto=RtoResult(True, rate / 100, t0, t0 + rate / 100, 0, 1 / rate),
        rpo=RpoResult(acked, 0, 0.0), latency=LatencySummary(acked, 5.0, 4.0, 9.0, 12.0),
        outcomes={"ack": acked}, targets=targets, settings=self.settings,
        timeline=self.timeline)


async def _autoscale_figures(self: AutoscaleDrill, drill_id: int, gateway: str, before: int,
                             capacity: float | None) -> AutoscaleOutcome:
    """The autoscaling drill's measuring step, with figures that follow its own settings."""
    t0 = time.time()
    s = self.settings
    self._event(drill_id, "load_started", t0, f"order traffic at {s.rate:g}/s")
    acked = int(s.rate * 10)
    return AutoscaleOutcome(
        settings=s, load_started_at=t0, instances_before=before, instances_after=before + 1,
        capacity_per_instance=capacity, alerted_at=t0 + 7, scale_out_at=t0 + 7.1,
        new_instance="matcher-1", instance_ready_at=t0 + 8, switched_at=t0 + 8.1,
        p99_recovered_at=t0 + 15, p99_before_ms=2400.0, p99_after_ms=80.0, sli_after=0.995,
        client_p99_before_ms=2500.0, client_p99_after_ms=90.0,
        rpo=RpoResult(acked, 0, 0.0), double_fills=0, crossed_books=[],
        outcomes={"ack": acked},
        loop=LoopEvidence(s.alert, s.runbook, t0 + 7, t0 + 6.9, 1, "succeeded", None,
                          t0 + 7, t0 + 7.1, "scale-out", t0 + 20),
        timeline=self.timeline)


@pytest.fixture(autouse=True)
def _measure_without_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LedgerFailoverDrill, "_drill", _failover_figures)
    monkeypatch.setattr(AutoscaleDrill, "_drill", _autoscale_figures)


Run = Callable[[Store, list[Event]], Any]


def _at_once(db: Path, runs: list[Run]) -> list[tuple[Any, list[Event]]]:
    """Each run in its own thread with its own connection to the store `db`; every insert of
    a drill waits until all runs have inserted theirs."""
    inserted = threading.Barrier(len(runs))
    Store(db).close()       # the store exists (as `cluster up` leaves it) before drills start

    def one(run: Run) -> tuple[Any, list[Event]]:
        events: list[Event] = []
        with Store(db) as store:
            insert = store.create_drill

            def create_drill(*args: Any, **kwargs: Any) -> Any:
                record = insert(*args, **kwargs)
                inserted.wait(timeout=10)
                return record
            store.create_drill = create_drill  # type: ignore[method-assign]
            return run(store, events), events

    with ThreadPoolExecutor(len(runs)) as pool:
        return [f.result(timeout=30) for f in [pool.submit(one, r) for r in runs]]


def _failover(root: Path, primary: str, rate: float) -> Run:
    cluster = _cluster(root, load_topology(DEFAULT_TOPOLOGY), primary)
    return lambda store, events: asyncio.run(ledger_failover_drill(
        cluster, store, DrillSettings(rate=rate), events.append))


def _autoscale(root: Path, rate: float) -> Run:
    cluster = _cluster(root, autoscale_topology(20.0), "ledger-0")
    return lambda store, events: asyncio.run(autoscale_drill(
        cluster, store, AutoscaleSettings(rate=rate), events.append))


def test_two_failover_drills_at_once_each_report_their_own_record(tmp_path: Path) -> None:
    db = tmp_path / "controlplane.db"
    (a, _), (b, _) = _at_once(db, [_failover(tmp_path / "a", "ledger-0", 40),
                                       _failover(tmp_path / "b", "ledger-1", 60)])
    assert a.drill_id is not None and b.drill_id is not None and a.drill_id != b.drill_id
    with Store(db) as store:
        for outcome, primary, rate in ((a, "ledger-0", 40), (b, "ledger-1", 60)):
            record = store.get_drill(outcome.drill_id)
            assert record is not None and record.state == "passed"
            assert (record.kind, record.target, record.params["rate"]) == (
                "ledger-failover", primary, rate)
            assert outcome.target == primary and outcome.rpo.acknowledged == rate * 10
            assert record.result["acked_total"] == rate * 10
            assert record.result["rto_s"] == pytest.approx(rate / 100)
            kills = [e.detail["message"] for e in store.drill_events(outcome.drill_id)
                     if e.kind == "fault_injected"]
            assert kills == [f"SIGKILL to {primary}"]


def test_a_failover_and_an_autoscale_drill_at_once_keep_their_records(tmp_path: Path) -> None:
    db = tmp_path / "controlplane.db"
    (ledger, _), (scaled, _) = _at_once(db, [_failover(tmp_path / "a", "ledger-0", 50),
                                            _autoscale(tmp_path / "b", 70)])
    assert {ledger.drill_id, scaled.drill_id} == {1, 2}
    with Store(db) as store:
        one, other = store.get_drill(ledger.drill_id), store.get_drill(scaled.drill_id)
    assert one is not None and (one.kind, one.result["acked_total"]) == ("ledger-failover", 500)
    assert other is not None and other.kind == "matcher-autoscale"
    assert other.result["acked_total"] == 700 and other.params["instances_before"] == 1


def test_every_event_carries_the_record_the_drill_wrote(tmp_path: Path) -> None:
    db = tmp_path / "controlplane.db"
    results = _at_once(db, [_failover(tmp_path / "a", "ledger-0", 40),
                                       _failover(tmp_path / "b", "ledger-1", 60)])
    for outcome, events in results:
        record = str(outcome.drill_id)
        assert [e.kind for e in events] == ["recorded", "load_started", "fault_injected"]
        assert {(e.source, e.record) for e in events} == {("drill", record)}
        assert events[0].data == {"drill_id": outcome.drill_id, "kind": "ledger-failover",
                                  "target": outcome.target}
        assert events[2].message == f"SIGKILL to {outcome.target}"


def test_a_drill_that_raises_finishes_its_own_record_as_aborted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: LedgerFailoverDrill, drill_id: int, c: Any, targets: Any) -> None:
        raise RuntimeError(f"no writes acknowledged on {c.primary}")
    monkeypatch.setattr(LedgerFailoverDrill, "_drill", broken)
    events: list[Event] = []
    with Store(tmp_path / "controlplane.db") as store:
        store.create_drill("ledger-failover", "ledger-9", {})          # an older record
        with pytest.raises(RuntimeError, match="ledger-1"):
            asyncio.run(ledger_failover_drill(_cluster(tmp_path / "a", load_topology(
                DEFAULT_TOPOLOGY), "ledger-1"), store, DrillSettings(), events.append))
        mine, older = store.get_drill(int(events[0].record)), store.get_drill(1)
    assert mine is not None and mine.state == "aborted" and "ledger-1" in mine.result["error"]
    assert older is not None and older.state == "running"


def test_autoscale_is_refused_on_a_matcher_without_an_engine_model(tmp_path: Path) -> None:
    with Store(tmp_path / "controlplane.db") as store:
        with pytest.raises(InvalidInput, match="engine cost") as err:
            asyncio.run(autoscale_drill(_cluster(tmp_path / "a", load_topology(
                DEFAULT_TOPOLOGY), "ledger-0"), store, AutoscaleSettings()))
        assert store.list_drills() == []
    assert "matcher.settings.engine_cost_ms" in str(err.value)
