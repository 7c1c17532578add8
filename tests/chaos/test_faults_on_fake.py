"""Faults injected and reverted through the fault engine on the fake platform (no processes):
each kind acts through the platform and is verified by observing it, its revert leaves the
cluster as it was, and the durable record follows (injected, reverted, or failed). The live
counterparts, on real processes, are in test_faults_live.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.chaos.engine import FaultContext, FaultEngine, FaultFailed
from controlplane.platform import Platform, open_platform
from tests.support.fake_cluster import fake_cluster


@pytest.fixture()
def platform(tmp_path: Path) -> Platform:
    return fake_cluster(tmp_path / "ws")


def _engine(platform: Platform) -> FaultEngine:
    return FaultEngine(FaultContext(platform, platform.workspace.store_path))


def _state(engine: FaultEngine, fault_id: int) -> str:
    record = engine.ctx.store.get_fault(fault_id)
    assert record is not None
    return record.state


def _all_ready(platform: Platform) -> bool:
    return all(i.running and i.health.ready and i.state == "running"
               for i in platform.info().instances)


def test_killing_the_ledger_primary_leaves_it_crashed_until_reverted(platform: Platform) -> None:
    engine = _engine(platform)
    fault = engine.inject("process-kill", "ledger:primary")
    assert fault.target.instances == ["ledger-0"] and fault.evidence.ok, fault.evidence
    assert platform.info().known("ledger-0").state == "crashed"     # restart: never
    assert engine.revert(fault.id).ok
    assert _state(engine, fault.id) == "reverted" and _all_ready(platform)
    assert platform.health("ledger-0").role == "primary"


def test_a_killed_gateway_is_back_by_its_policy_and_its_old_life_confirmed_dead(
        platform: Platform) -> None:
    engine = _engine(platform)
    before = platform.info().known("gateway-0")
    fault = engine.inject("process-terminate", "gateway-0")
    assert fault.evidence.ok and fault.evidence.data["incarnations"] == {
        "gateway-0": before.incarnation}
    after = platform.info().known("gateway-0")
    assert after.running and after.restarts == before.restarts + 1
    assert engine.revert(fault.id).ok and _all_ready(platform)


@pytest.mark.parametrize(("kind", "target", "state"), [
    ("process-pause", "gateway-0", "paused"),
    ("process-stop", "etcd-0", "stopped"),
])
def test_a_pause_or_a_stop_holds_until_reverted(platform: Platform, kind: str, target: str,
                                                state: str) -> None:
    engine = _engine(platform)
    fault = engine.inject(kind, target, {"duration_s": 30})
    assert fault.evidence.ok, fault.evidence
    assert platform.info().known(target).state == state and not platform.health(target).ready
    assert engine.revert(fault.id).ok and _all_ready(platform)


def test_a_partition_blocks_both_ways_and_its_revert_removes_every_rule(
        platform: Platform) -> None:
    engine = _engine(platform)
    fault = engine.inject("network-partition", "gateway-0", {"peer": "matcher",
                                                             "duration_s": 30})
    assert fault.evidence.ok and len(platform.network().active(fault.tag)) == 3  # 1 + 2 sources
    assert engine.revert(fault.id).ok
    assert platform.network().active(fault.tag) == []


def test_link_service_and_cpu_faults_are_in_force_until_reverted(platform: Platform) -> None:
    engine = _engine(platform)
    faults = [
        engine.inject("network-latency", "gateway-0", {"peer": "matcher-1", "latency_ms": 80,
                                                       "duration_s": 30}),
        engine.inject("app-errors", "gateway-0", {"error_rate": 0.3, "duration_s": 30}),
        engine.inject("cpu-throttle", "matcher-0", {"cores": 0.5, "duration_s": 30}),
    ]
    assert all(f.evidence.ok for f in faults), [f.evidence for f in faults]
    links = {x["name"]: x["fault"] for x in platform.links().links()}
    assert links["gateway-0->matcher-1"]["latency_ms"] == 80 and links["gateway-0->matcher-0"] \
        is None
    assert platform.service_faults().fault("gateway-0")["error_rate"] == 0.3  # type: ignore[index]
    assert platform.resources().cpu_limit("matcher-0") == 0.5
    assert all(engine.revert(f.id).ok for f in faults)
    assert {x["name"]: x["fault"] for x in platform.links().links()}[
        "gateway-0->matcher-1"] is None
    assert platform.service_faults().fault("gateway-0") is None
    assert platform.resources().cpu_limit("matcher-0") is None


def test_a_fault_the_platform_refuses_is_recorded_as_failed(platform: Platform) -> None:
    platform.stop("gateway-0")
    engine = _engine(platform)
    with pytest.raises(FaultFailed, match="not running"):
        engine.inject("process-pause", "gateway-0", {"duration_s": 30})
    assert _state(engine, 1) == "failed" and engine.ctx.store.open_faults() == []
    assert not platform.info().known("gateway-0").running


def test_recover_from_another_process_reverts_what_a_dead_runner_left(
        platform: Platform) -> None:
    """The runner's engine is gone; a new one, on a platform opened from the workspace alone
    (as the reaper and `chaos halt` open it), finds the open faults and undoes them."""
    runner = _engine(platform)
    runner.inject("process-pause", "matcher-0", {"duration_s": 30})
    runner.inject("network-partition", "gateway-0", {"peer": "marketdata", "duration_s": 30})
    assert not _all_ready(platform)
    recovered = _engine(open_platform(platform.workspace)).recover()
    assert len(recovered) == 2 and all(e.ok for e in recovered.values()), recovered
    assert _all_ready(platform) and runner.ctx.store.open_faults() == []
