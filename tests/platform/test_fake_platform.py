"""What the fake platform does beyond the conformance suite: one cluster for every object opened
on its workspace (threads included), the restart policies, time (backoff, readiness, a fault's
ttl) on an injected clock, the events tests inject (crash, promote, acknowledge), what its fault
controls remember, and its refusals. Reached through `load_platform`, as every caller does."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from controlplane.errors import (
    ClusterNotRunning,
    InvalidInput,
    NotFound,
    PlatformError,
    Refused,
    Unsupported,
)
from controlplane.platform import Platform, load_platform, open_platform
from controlplane.topology import Topology, load_topology, parse_topology
from controlplane.trading.journals import acknowledged_orders

START = 1_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _reference() -> Topology:
    return load_topology().model_copy(update={"platform": "fake"})


def _up(root: Path, topology: Topology | None = None, **options: float) -> Platform:
    topology = topology or _reference()
    platform = load_platform(topology, root)
    platform.up(topology, **options)
    return platform


@pytest.fixture()
def fake(tmp_path: Path) -> Platform:
    return _up(tmp_path / "ws")


@pytest.fixture()
def clocked(tmp_path: Path) -> tuple[Platform, Clock]:
    clock = Clock()
    platform = load_platform(_reference(), tmp_path / "ws")
    platform.clock = clock          # type: ignore[attr-defined]
    platform.up(_reference(), backoff_s=5, ready_after_s=3)
    return platform, clock


def _inst(platform: Platform, instance_id: str):
    return platform.info().known(instance_id)


# one cluster per workspace ----------------------------------------------------------------
def test_another_object_on_the_workspace_sees_the_same_cluster(fake: Platform) -> None:
    again = open_platform(fake.workspace)
    assert again.name == "fake" and again is not fake
    before = _inst(again, "gateway-0").incarnation
    fake.kill("gateway-0")
    assert _inst(again, "gateway-0").incarnation not in ("", before)
    again.stop("matcher-1")
    assert not _inst(fake, "matcher-1").running


def test_threads_acting_at_once_lose_no_change(fake: Platform) -> None:
    targets = ["gateway-0", "matcher-0", "matcher-1", "marketdata-0"]

    def kill_five(instance_id: str) -> None:
        platform = open_platform(fake.workspace)
        for _ in range(5):
            platform.kill(instance_id)
    with ThreadPoolExecutor(len(targets)) as pool:
        list(pool.map(kill_five, targets))
    assert {i: _inst(fake, i).restarts for i in targets} == dict.fromkeys(targets, 5)


# restart policies -------------------------------------------------------------------------
def test_on_failure_restarts_a_crash_but_not_a_clean_exit(fake: Platform) -> None:
    assert fake.topology().services["gateway"].restart == "on-failure"
    crashed = fake.crash("gateway-0", exit_code=3)          # type: ignore[attr-defined]
    assert (crashed.running, crashed.restarts) == (True, 1)
    exited = fake.crash("gateway-0", exit_code=0)           # type: ignore[attr-defined]
    assert (exited.running, exited.state, exited.exit_code, exited.restarts) == (
        False, "exited", 0, 1)


def test_never_leaves_a_killed_ledger_node_crashed_until_started(fake: Platform) -> None:
    killed = fake.kill("ledger-0")
    assert (killed.running, killed.state, killed.exit_code, killed.restarts) == (
        False, "crashed", -9, 0)
    assert killed.health.role == "" and not fake.health("ledger-0").ready
    assert not next(c for c in fake.components() if c.name == "ledger").ready
    started = fake.start("ledger-0")
    assert started.running and started.health.role == "primary"


def test_a_kill_of_a_stopped_or_a_freeze_of_a_crashed_instance_is_refused(
        fake: Platform) -> None:
    fake.stop("gateway-0")
    with pytest.raises(Refused, match="not running"):
        fake.kill("gateway-0")
    fake.kill("ledger-1")
    with pytest.raises(Refused, match="cannot pause"):
        fake.freeze("ledger-1")


# time -------------------------------------------------------------------------------------
def test_a_restart_waits_for_its_backoff_and_a_start_for_readiness(
        clocked: tuple[Platform, Clock]) -> None:
    platform, clock = clocked
    old = _inst(platform, "gateway-0").incarnation
    down = platform.kill("gateway-0")
    assert (down.state, down.running, down.restarts, down.incarnation) == ("backoff", False, 1, "")
    assert platform.confirm_dead("gateway-0", old).dead and platform.confirm_dead("gateway-0").dead
    clock.now += 5
    starting = _inst(platform, "gateway-0")
    assert (starting.state, starting.running, starting.health.alive, starting.health.ready) == (
        "starting", True, True, False)
    clock.now += 3
    ready = _inst(platform, "gateway-0")
    assert (ready.state, ready.health.ready, ready.started_at) == ("running", True, START + 5)


def test_a_stop_during_a_backoff_keeps_it_down(clocked: tuple[Platform, Clock]) -> None:
    platform, clock = clocked
    platform.kill("gateway-0")
    platform.stop("gateway-0")
    clock.now += 60
    assert _inst(platform, "gateway-0").state == "stopped"


def test_faults_expire_after_their_ttl(clocked: tuple[Platform, Clock]) -> None:
    platform, clock = clocked
    platform.service_faults().set_fault("gateway-0", {"delay_ms": 100, "ttl_s": 10})
    platform.links().set_fault("gateway-0->matcher-0", {"latency_ms": 5, "ttl_s": 20})
    clock.now += 10
    assert platform.service_faults().fault("gateway-0") is None
    link = {x["name"]: x for x in platform.links().links()}["gateway-0->matcher-0"]
    assert (link["fault"], link["ttl_remaining_s"]) == ({"latency_ms": 5, "ttl_s": 20}, 10.0)
    clock.now += 10
    assert {x["name"]: x["fault"] for x in platform.links().links()}[
        "gateway-0->matcher-0"] is None


# injected events --------------------------------------------------------------------------
def test_promote_is_a_failover(fake: Platform) -> None:
    fake.promote("ledger-1")                                 # type: ignore[attr-defined]
    roles = {i.id: i.health.role for i in fake.instances("ledger")}
    assert roles == {"ledger-0": "sync_standby", "ledger-1": "primary"}
    with pytest.raises(Refused):
        fake.promote("gateway-0")                            # type: ignore[attr-defined]


def test_a_gateways_journal_holds_its_acks_until_it_restarts(fake: Platform) -> None:
    started = _inst(fake, "gateway-0").started_at
    assert started is not None
    fake.acknowledge("gateway-0", "o-1", at=started + 1)     # type: ignore[attr-defined]
    fake.acknowledge("gateway-0", "o-2", at=started + 2)     # type: ignore[attr-defined]
    journal = acknowledged_orders(fake, started + 1.5)["gateway-0"]
    assert journal["complete"] and [a["order_id"] for a in journal["acks"]] == ["o-2"]
    assert not fake.admin_request("gateway-0", "GET", f"/admin/acks?since={started - 1}")[
        "complete"]                                          # it did not run before
    fake.kill("gateway-0")
    assert fake.admin_request("gateway-0", "GET", "/admin/acks?since=0")["acks"] == []
    fake.stop("gateway-0")
    assert acknowledged_orders(fake, 0)["gateway-0"] == {
        "complete": False, "acks": [], "error": "gateway-0 is down"}


def test_other_admin_calls_are_unsupported(fake: Platform) -> None:
    with pytest.raises(Unsupported, match="/admin/shardmap"):
        fake.admin_request("gateway-0", "GET", "/admin/shardmap")
    with pytest.raises(NotFound):
        fake.admin_request("ledger-0", "GET", "/patroni")
    view = fake.admin_request("marketdata-0", "PUT", "/admin/faults",
                              {"freeze_updates": True, "ttl_s": 5})
    assert view["fault"] == {"freeze_updates": True, "ttl_s": 5}
    assert fake.admin_request("marketdata-0", "DELETE", "/admin/faults") == {"cleared": True}


# fault controls ---------------------------------------------------------------------------
def test_service_faults_are_checked_and_live_in_the_process(fake: Platform) -> None:
    faults = fake.service_faults()
    with pytest.raises(InvalidInput, match="ttl_s"):
        faults.set_fault("gateway-0", {"error_rate": 0.1})
    with pytest.raises(PlatformError, match="error_rat"):
        faults.set_fault("gateway-0", {"error_rat": 0.1, "ttl_s": 5})
    with pytest.raises(PlatformError, match="only marketdata"):
        faults.set_fault("gateway-0", {"freeze_updates": True, "ttl_s": 5})
    with pytest.raises(NotFound):
        faults.set_fault("ledger-0", {"ttl_s": 5})
    faults.set_fault("gateway-0", {"error_rate": 0.1, "ttl_s": 5})
    fake.kill("gateway-0")
    assert faults.fault("gateway-0") is None                 # the new process has none
    fake.stop("gateway-0")
    with pytest.raises(PlatformError, match="did not answer"):
        faults.fault("gateway-0")


def test_links_follow_scaling_and_a_cluster_without_a_mesh_has_none(
        fake: Platform, tmp_path: Path) -> None:
    links = fake.links()
    assert "gateway-0->matcher-2" not in {x["name"] for x in links.links()}
    fake.scale("matcher")
    links.set_fault("gateway-0->matcher-2", {"blackhole": True, "ttl_s": 30})
    fake.scale_in("matcher")
    assert "gateway-0->matcher-2" not in {x["name"] for x in links.links()}
    fake.scale("matcher")                                    # a new matcher-2, no old fault
    assert {x["name"]: x["fault"] for x in links.links()}["gateway-0->matcher-2"] is None
    bare = _up(tmp_path / "bare", _reference().model_copy(update={"mesh": False}))
    with pytest.raises(PlatformError, match="without the mesh"):
        bare.links().links()


def test_processes_freeze_without_a_hang_and_resources_are_remembered(fake: Platform) -> None:
    res = fake.resources()
    assert res.freeze_processes("ledger-1", "startup recovering") == 1
    assert res.process_states("ledger-1", "startup") == ["frozen"]
    assert fake.health("ledger-1").ready                     # only WAL replay stalls
    assert (res.thaw_processes("ledger-1", "startup"), res.thaw_processes("ledger-1", "x")) == (
        1, 0)
    res.set_cpu_limit("matcher-0", 0.5)
    assert (res.cpu_limit("matcher-0"), res.cpu_limit("matcher-1")) == (0.5, None)
    res.set_cpu_limit("matcher-0", None)
    assert res.cpu_limit("matcher-0") is None
    handle = res.spawn_helper("t1", "gateway-0", ["burn"])
    assert res.helpers("t1") == [handle] and res.helper_usage("t1")["count"] == 1
    assert (res.stop_helpers("t1"), res.stop_helpers("t1"), res.helpers("t1")) == (1, 0, [])


def test_a_disk_fill_takes_space_until_cleared(fake: Platform, tmp_path: Path) -> None:
    small = _up(tmp_path / "small", disk_mb=100)
    res = small.resources()
    res.fill_disk("t1", "ledger-0", 60)
    assert (res.disk_fill_mb("t1", "ledger-0"), res.disk_free_mb("ledger-0")) == (60, 40)
    with pytest.raises(PlatformError, match="no space"):
        res.fill_disk("t2", "ledger-0", 50)
    res.fill_disk("t1", "ledger-0", 90)                      # replaces t1's 60 MB
    assert res.disk_free_mb("ledger-0") == 10
    res.clear_disk_fill("t1", "ledger-0")
    res.clear_disk_fill("t1", "ledger-0")                    # idempotent
    assert res.disk_free_mb("ledger-0") == 100


# lifecycle of the cluster ------------------------------------------------------------------
def test_up_refuses_a_second_cluster_a_changed_topology_and_unknown_options(
        fake: Platform, tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="already running"):
        fake.up(_reference())
    fake.down()
    assert fake.topology().name == "reference-trading"      # kept until purged
    assert fake.confirm_dead("ledger-0").dead
    with pytest.raises(ClusterNotRunning):
        fake.info()
    other = parse_topology({"name": "other", "platform": "fake",
                            "services": {"marketdata": {"kind": "marketdata"}}})
    with pytest.raises(InvalidInput, match="different topology"):
        fake.up(other)
    fake.down(purge=True)
    assert fake.up(other).name == "other"
    with pytest.raises(InvalidInput, match="no such option"):
        load_platform(other, tmp_path / "x").up(other, warp=9)


def test_down_drops_every_fault(fake: Platform) -> None:
    fake.network().block("t1", ["gateway-0"], ["matcher-0"])
    fake.resources().set_cpu_limit("matcher-0", 1)
    fake.down()
    fake.up(_reference())
    assert fake.network().active("t1") == [] and fake.resources().cpu_limit("matcher-0") is None
    assert all(i.running and i.restarts == 0 for i in fake.info().instances)


def test_the_database_is_unsupported_naming_the_fake(fake: Platform) -> None:
    with pytest.raises(Unsupported) as err:
        fake.ledger_dsn()
    assert err.value.platform == "fake"
    with pytest.raises(NotFound):
        fake.ledger_admin_dsn("gateway-0")
    with pytest.raises(Unsupported):
        fake.ledger_admin_dsn("ledger-1")
    with pytest.raises(Unsupported, match="scaling ledger"):
        fake.scale("ledger")


def test_scale_reports_say_what_was_scaled(fake: Platform) -> None:
    added = fake.scale("gateway")
    fake.scale_in("gateway")
    reports = fake.scale_reports()                           # type: ignore[attr-defined]
    assert [(r["instance"], r["direction"]) for r in reports] == [
        (added.id, "out"), (added.id, "in")]
    assert reports[0]["ready_at"] is not None and reports[1]["ready_at"] is None
