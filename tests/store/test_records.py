"""Drill and fault records: lifecycles, validation, and durability across connections."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.errors import InvalidInput, StoreError
from controlplane.store import Store, db_path, iso


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store(db_path(tmp_path), clock=clock) as opened:
        yield opened


def test_drill_lifecycle(store: Store, clock: FakeClock) -> None:
    drill = store.create_drill("failover", "ledger", {"load_users": 200})
    assert (drill.state, drill.started_at, drill.ended_at, drill.result) == (
        "running", clock.now, None, None)
    store.add_drill_event(drill.id, clock.now + 2, "fault_injected", {"instance": "ledger-0"})
    store.add_drill_event(drill.id, clock.now + 1, "load_started")
    store.add_drill_event(drill.id, clock.now + 9, "recovered")
    clock.now += 10
    result = {"rto_s": 7.5, "rpo_orders": 0, "acked_total": 1200, "verdict": "pass"}
    finished = store.finish_drill(drill.id, "passed", result)
    assert (finished.state, finished.ended_at, finished.result) == ("passed", clock.now, result)
    assert finished.params == {"load_users": 200}
    assert [e.kind for e in store.drill_events(drill.id)] == [
        "load_started", "fault_injected", "recovered"]
    assert store.drill_events(drill.id)[1].detail == {"instance": "ledger-0"}
    assert store.get_drill(drill.id) == finished


def test_a_drill_finishes_once(store: Store) -> None:
    drill = store.create_drill("failover", "ledger", {})
    store.finish_drill(drill.id, "aborted", {})
    with pytest.raises(InvalidInput, match=f"drill {drill.id} is aborted; only a running"):
        store.finish_drill(drill.id, "passed", {})
    with pytest.raises(InvalidInput, match="must be one of passed, failed, aborted"):
        store.finish_drill(store.create_drill("x", "y", {}).id, "running", {})  # type: ignore[arg-type]


def test_unknown_drills(store: Store) -> None:
    assert store.get_drill(42) is None
    assert store.drill_events(42) == []
    with pytest.raises(InvalidInput, match="drill_id: no drill with this id"):
        store.finish_drill(42, "passed", {})
    with pytest.raises(InvalidInput, match="drill_id: no drill with this id"):
        store.add_drill_event(42, 0.0, "detected")


def test_list_drills_newest_first_by_kind(store: Store, clock: FakeClock) -> None:
    ids = []
    for kind in ("failover", "partition", "failover"):
        ids.append(store.create_drill(kind, "ledger", {}).id)
        clock.now += 1
    assert [d.id for d in store.list_drills()] == ids[::-1]
    assert [d.id for d in store.list_drills(kind="failover")] == [ids[2], ids[0]]
    assert [d.id for d in store.list_drills(limit=1)] == [ids[2]]
    with pytest.raises(InvalidInput, match="limit"):
        store.list_drills(limit=0)


@pytest.mark.parametrize("params", [{"when": object()}, {"x": math.nan}, ["not", "a", "dict"]])
def test_json_columns_are_checked_before_writing(store: Store, params: object) -> None:
    with pytest.raises(InvalidInput, match="params"):
        store.create_drill("failover", "ledger", params)  # type: ignore[arg-type]
    assert store.list_drills() == []


def test_kind_and_target_must_be_named(store: Store) -> None:
    with pytest.raises(InvalidInput, match="kind: must be a non-empty string"):
        store.create_drill(" ", "ledger", {})
    with pytest.raises(InvalidInput, match="target: must be a non-empty string"):
        store.record_fault("process-kill", "", {})


def test_fault_is_committed_before_injection(tmp_path: Path, store: Store) -> None:
    fault = store.record_fault("process-kill", "ledger-0", {"restart": "ledger-0"}, run_id="r1")
    assert fault.state == "pending"
    with Store(db_path(tmp_path)) as other:  # what a recover command would see after a crash
        assert other.open_faults() == [fault]


def test_a_fault_is_recorded_with_its_expiry_and_owner(tmp_path: Path, store: Store,
                                                      clock: FakeClock) -> None:
    fault = store.record_fault("process-pause", "gateway-0", {}, run_id="r1", ttl_s=80,
                               owner_pid=4242, owner_host="node-a")
    with Store(db_path(tmp_path)) as other:              # committed, as the reaper reads it
        (seen,) = other.open_faults()
    assert (seen.expires_at, seen.owner_pid, seen.owner_host) == (clock.now + 80, 4242,
                                                                  "node-a")
    assert seen == fault
    assert store.record_fault("process-kill", "gateway-0", {}).expires_at is None


@pytest.mark.parametrize("ttl", [0, -1, math.inf, math.nan, 86_400, "60"])
def test_a_fault_ttl_must_be_a_sane_number_of_seconds(store: Store, ttl: object) -> None:
    with pytest.raises(InvalidInput, match="ttl_s: must be a number of seconds"):
        store.record_fault("process-pause", "gateway-0", {}, ttl_s=ttl)  # type: ignore[arg-type]
    assert store.open_faults() == []


def test_fault_lifecycle(store: Store, clock: FakeClock) -> None:
    fault = store.record_fault("network-delay", "matcher-1", {"qdisc": "del"}, run_id="r1")
    assert fault.recorded_at == clock.now
    injected = store.mark_fault_injected(fault.id, clock.now + 1)
    assert (injected.state, injected.injected_at) == ("injected", clock.now + 1)
    assert store.open_faults() == [injected]
    reverted = store.mark_fault_reverted(fault.id, clock.now + 5, {"took_s": 0.2})
    assert (reverted.state, reverted.reverted_at, reverted.revert_detail) == (
        "reverted", clock.now + 5, {"took_s": 0.2})
    assert store.open_faults() == []
    with pytest.raises(InvalidInput, match=f"fault {fault.id} is reverted"):
        store.mark_fault_reverted(fault.id, clock.now + 6)
    with pytest.raises(InvalidInput, match="only a pending fault can be injected"):
        store.mark_fault_injected(fault.id, clock.now + 6)


def test_failed_injection_closes_a_pending_fault(store: Store) -> None:
    fault = store.record_fault("process-kill", "gateway", {})
    failed = store.mark_fault_failed(fault.id, "no such process")
    assert (failed.state, failed.error) == ("failed", "no such process")
    assert store.open_faults() == []


def test_failed_revert_keeps_an_injected_fault_open(store: Store) -> None:
    fault = store.record_fault("network-partition", "ledger-1", {"iptables": "-D ..."})
    store.mark_fault_injected(fault.id, 1.0)
    still_open = store.mark_fault_failed(fault.id, "iptables: permission denied")
    assert (still_open.state, still_open.error) == ("injected", "iptables: permission denied")
    assert store.open_faults() == [still_open]
    assert store.mark_fault_reverted(fault.id, 2.0).state == "reverted"


def test_a_pending_fault_can_be_reverted_by_recovery(store: Store) -> None:
    fault = store.record_fault("process-kill", "matcher-0", {})
    assert store.mark_fault_reverted(fault.id, 3.0, {"by": "recover"}).state == "reverted"


def test_open_faults_by_run(store: Store) -> None:
    first = store.record_fault("a", "t", {}, run_id="r1")
    second = store.record_fault("b", "t", {}, run_id="r2")
    assert store.open_faults() == [first, second]
    assert store.open_faults(run_id="r2") == [second]
    with pytest.raises(InvalidInput, match="fault_id: no fault with this id"):
        store.mark_fault_injected(999, 0.0)


def test_records_survive_reopening(tmp_path: Path, clock: FakeClock) -> None:
    with Store(db_path(tmp_path), clock=clock) as store:
        drill = store.create_drill("failover", "ledger", {"a": [1, 2]})
        store.add_drill_event(drill.id, 5.0, "detected", {"by": "alert"})
    with Store(db_path(tmp_path), clock=clock) as store:
        assert store.get_drill(drill.id) == drill
        assert store.drill_events(drill.id)[0].detail == {"by": "alert"}


def test_unusable_paths_raise_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist; create the state directory"):
        Store(tmp_path / "missing" / "controlplane.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, just some bytes" * 100)
    with pytest.raises(StoreError, match="junk.db: not a usable SQLite database"):
        Store(junk)


def test_iso() -> None:
    assert iso(None) is None
    assert iso(1_700_000_000.25) == "2023-11-14T22:13:20.250Z"
