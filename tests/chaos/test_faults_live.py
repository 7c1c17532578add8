"""Every fault kind, injected for real into the running reference cluster and reverted,
through the Chaos Toolkit activities experiments call (`inject_fault`, `revert_fault`).

Each test observes the effect itself (a request that hangs, a port that refuses, kernel
counters, the database's own state) rather than trusting the fault's return value or its own
verify functions; then it reverts and observes the cluster back to normal. A test that fails
midway still reverts its faults (the `rollbacks` fixture), so it cannot starve the next one.

Timing: every wait is on a condition with a deadline that leaves room for a loaded machine;
the only fixed sleeps are the windows in which something must NOT happen.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from controlplane.chaos import actions
from controlplane.chaos.config import RUN_KEY, STATE_KEY
from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.chaos.faults.base import FaultTarget
from controlplane.host.procs import alive, find_owned
from tests.support.local import Cgroups, data_dir, pid
from tests.support.net import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]


@pytest.fixture(scope="module")
def engine(cluster) -> FaultEngine:
    return FaultEngine(FaultContext(cluster, cluster.workspace.store_path))


@pytest.fixture(autouse=True)
def rollbacks(engine) -> Iterator[None]:
    """What `rollbacks.strategy: always` is to an experiment: whatever a test injected and did
    not revert (it failed first) is reverted after it, pass or fail."""
    yield
    actions.revert_run_faults(configuration=_config(engine))


def _url(cluster, component: str, port: str = "http") -> str:
    return cluster.instances(component)[0].endpoints[port]


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def _ready(cluster, inst: str) -> None:
    wait_for(f"{inst} ready", lambda: cluster.health(inst).ready or None, timeout=60)


@dataclass(frozen=True)
class Injected:
    id: int
    tag: str
    target: FaultTarget
    evidence: dict


def _config(engine) -> dict:
    return {STATE_KEY: str(engine.ctx.platform.workspace.root), RUN_KEY: "test-live"}


def _inject(engine, kind: str, target: str, params: dict | None = None) -> Injected:
    """The action an experiment's method calls; it fails unless the effect is observed."""
    result = actions.inject_fault(kind, target, params, configuration=_config(engine))
    assert result["evidence"]["ok"], result["evidence"]
    return Injected(result["fault_id"], f"fault-{result['fault_id']}",
                    FaultTarget.from_dict(result["target"]), result["evidence"])


def _revert(engine, fault: Injected) -> None:
    evidence = actions.revert_fault(fault.id, configuration=_config(engine))
    assert evidence["ok"], evidence
    assert engine.ctx.store.get_fault(fault.id).state == "reverted"


def test_process_kill_crashes_and_the_policy_restarts(cluster, engine) -> None:
    old = pid(cluster.info().instance("gateway-0"))
    fault = _inject(engine, "process-kill", "gateway")
    assert not alive(old)
    _revert(engine, fault)
    assert pid(cluster.info().instance("gateway-0")) not in (None, old)
    assert _get(_url(cluster, "gateway") + "/healthz") == 200


def test_process_terminate(cluster, engine) -> None:
    old = pid(cluster.info().instance("marketdata-0"))
    fault = _inject(engine, "process-terminate", "marketdata")
    wait_for("marketdata's old process to exit", lambda: not alive(old), timeout=15)
    _revert(engine, fault)
    assert _get(_url(cluster, "marketdata") + "/healthz") == 200


def test_process_pause_hangs_then_answers_again(cluster, engine) -> None:
    url = cluster.info().instance("matcher-0").endpoints["http"] + "/healthz"
    fault = _inject(engine, "process-pause", "matcher-0", {"duration_s": 30})
    with pytest.raises((TimeoutError, urllib.error.URLError, OSError)):
        urllib.request.urlopen(url, timeout=1)
    _revert(engine, fault)
    assert _get(url) == 200


def test_process_stop_takes_prometheus_away_then_back(cluster, engine) -> None:
    port = int(_url(cluster, "prometheus").rsplit(":", 1)[1])
    fault = _inject(engine, "process-stop", "prometheus", {"duration_s": 30})
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    _revert(engine, fault)
    assert _get(_url(cluster, "prometheus") + "/-/ready") == 200


def test_crash_loop_restarts_repeatedly_then_settles(cluster, engine) -> None:
    before = cluster.info().instance("gateway-0").restarts
    fault = _inject(engine, "process-crash-loop", "gateway",
                    {"duration_s": 30, "interval_s": 1.5})
    wait_for("two more restarts", lambda: cluster.info().instance("gateway-0").restarts
             >= before + 2, timeout=30)
    _revert(engine, fault)
    settled = cluster.info().instance("gateway-0").restarts
    time.sleep(3)                      # a window in which nothing may happen: two intervals
    assert cluster.info().instance("gateway-0").restarts == settled      # the loop stopped


def _cpu_usec(inst: str, cluster) -> int:
    cg = Cgroups(cluster.state.cgroup_name)
    stat = (cg.v2 / inst / "cpu.stat").read_text()
    return int(next(line.split()[1] for line in stat.splitlines()
                    if line.startswith("usage_usec")))


def test_cpu_burn_is_accounted_to_the_target(cluster, engine) -> None:
    before = _cpu_usec("matcher-1", cluster)
    fault = _inject(engine, "cpu-burn", "matcher-1", {"duration_s": 60, "cores": 1})
    wait_for("0.5 CPU-s charged to matcher-1's cgroup",
             lambda: _cpu_usec("matcher-1", cluster) - before > 0.5e6, timeout=45)
    _revert(engine, fault)
    assert engine.ctx.platform.resources().helpers(fault.tag) == []


def test_cpu_throttle_makes_the_kernel_throttle_the_target(cluster, engine) -> None:
    cg = Cgroups(cluster.state.cgroup_name)
    stat = cg.v1["cpu"] / "gateway-0" / "cpu.stat"

    def throttled() -> int:
        return int(dict(line.split() for line in stat.read_text().splitlines())["nr_throttled"])
    before = throttled()
    fault = _inject(engine, "cpu-throttle", "gateway-0", {"duration_s": 30, "cores": 0.02})
    for _ in range(30):
        _get(_url(cluster, "gateway") + "/v1/quotes/AAPL", timeout=5)
    assert throttled() > before
    _revert(engine, fault)
    assert (cg.v1["cpu"] / "gateway-0" / "cpu.cfs_quota_us").read_text().strip() == "-1"


def test_memory_pressure_lands_in_the_targets_memory_cgroup(cluster, engine) -> None:
    usage = Cgroups(cluster.state.cgroup_name).v1["memory"] / "marketdata-0" / \
        "memory.usage_in_bytes"
    before = int(usage.read_text())
    fault = _inject(engine, "memory-pressure", "marketdata", {"duration_s": 30,
                                                              "megabytes": 128})
    grew = (int(usage.read_text()) - before) / 2**20
    _revert(engine, fault)
    assert grew > 100
    wait_for("memory released", lambda: int(usage.read_text()) < before + 64 * 2**20,
             timeout=10)


def _du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def test_disk_fill_writes_inside_the_data_directory_only(cluster, engine) -> None:
    data = data_dir(cluster, "etcd-0")
    before = _du_mb(data)
    fault = _inject(engine, "disk-fill", "etcd", {"duration_s": 30, "megabytes": 50})
    assert _du_mb(data) - before >= 50
    _revert(engine, fault)
    assert _du_mb(data) - before < 5


def test_partition_cuts_gateway_from_marketdata_only(cluster, engine) -> None:
    quotes = _url(cluster, "gateway") + "/v1/quotes/AAPL"
    assert _get(quotes) == 200
    fault = _inject(engine, "network-partition", "gateway",
                    {"duration_s": 30, "peer": "marketdata"})
    assert _get(quotes, timeout=5) >= 500                       # the gateway cannot reach it
    assert _get(_url(cluster, "marketdata") + "/v1/quotes/AAPL") == 200   # others can
    _revert(engine, fault)
    wait_for("quotes through the gateway", lambda: _get(quotes) == 200 or None, timeout=10)


def test_packet_loss_drops_packets_in_the_kernel(cluster, engine) -> None:
    fault = _inject(engine, "network-loss", "gateway",
                    {"duration_s": 30, "peer": "marketdata", "percent": 50})
    for _ in range(20):
        _get(_url(cluster, "gateway") + "/v1/quotes/MSFT", timeout=3)
    dropped = sum(r["packets"] for r in cluster.network().active(fault.tag))
    _revert(engine, fault)
    assert dropped > 0
    assert cluster.network().active(fault.tag) == []


def _sql(dsn: str, query: str):
    async def run():
        conn = await asyncpg.connect(dsn, timeout=15)      # room for a loaded machine
        try:
            return await conn.fetchval(query)
        finally:
            await conn.close()
    return asyncio.run(run())


def _node(cluster, role: str) -> str:
    return next(i.id for i in cluster.instances("ledger") if i.health.role == role)


def _order(cluster) -> None:
    body = json.dumps({"account": "live", "symbol": "XOM", "side": "buy", "type": "limit",
                       "quantity": 1, "price": "115.00"}).encode()
    req = urllib.request.Request(_url(cluster, "gateway") + "/v1/orders", data=body,
                                 method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def test_replication_pause_stops_replay_on_the_standby(cluster, engine) -> None:
    standby = cluster.ledger_admin_dsn(_node(cluster, "sync_standby"))
    fault = _inject(engine, "ledger-replication-pause", "ledger:standby", {"duration_s": 30})
    replayed = _sql(standby, "select pg_last_wal_replay_lsn()::text")
    _order(cluster)                               # new WAL arrives (synchronously) ...
    wait_for("the standby to receive WAL it does not replay", lambda: _sql(
        standby, "select pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"), timeout=30)
    assert _sql(standby, "select pg_last_wal_replay_lsn()::text") == replayed   # ... unreplayed
    _revert(engine, fault)
    wait_for("replay to catch up", lambda: _sql(
        standby, "select pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"), timeout=10)


def test_connection_exhaustion_refuses_new_clients(cluster, engine) -> None:
    dsn = cluster.ledger_dsn()
    fault = _inject(engine, "ledger-connection-exhaustion", "ledger:primary",
                    {"duration_s": 30, "connections": 250})
    with pytest.raises(asyncpg.TooManyConnectionsError):
        _sql(dsn, "select 1")
    _revert(engine, fault)
    wait_for("connections accepted again", lambda: _sql(dsn, "select 1") == 1, timeout=15)


EXCLUSIVE_ON_ORDERS = ("select count(*) from pg_locks l join pg_class c on c.oid = l.relation "
                       "where c.relname = 'orders' and l.mode = 'ExclusiveLock'")


def test_lock_contention_blocks_writers_part_of_the_time(cluster, engine) -> None:
    dsn = cluster.ledger_dsn()

    async def busy() -> int:
        conn = await asyncpg.connect(dsn)
        refused = 0
        try:
            for _ in range(30):
                try:
                    async with conn.transaction():
                        await conn.execute("lock table orders in row exclusive mode nowait")
                except asyncpg.LockNotAvailableError:
                    refused += 1
                await asyncio.sleep(0.05)
        finally:
            await conn.close()
        return refused
    fault = _inject(engine, "ledger-lock-contention", "ledger:primary",
                    {"duration_s": 30, "hold_ms": 300, "every_ms": 600})
    assert asyncio.run(busy()) > 0
    _revert(engine, fault)
    admin = cluster.ledger_admin_dsn(_node(cluster, "primary"))
    wait_for("the helper's lock to be released", lambda: _sql(admin, EXCLUSIVE_ON_ORDERS) == 0,
             timeout=30)
    assert asyncio.run(busy()) == 0                    # and nobody takes it again


def test_killing_the_standby_and_reverting_brings_it_back_as_sync(cluster, engine) -> None:
    standby = _node(cluster, "sync_standby")
    old = pid(cluster.info().instance(standby))
    fault = _inject(engine, "process-kill", "ledger:standby")
    assert fault.target.instances == [standby] and not alive(old)
    wait_for("the supervisor to see it crashed",
             lambda: cluster.info().instance(standby).state == "crashed" or None, timeout=10)
    _revert(engine, fault)
    wait_for("sync standby again", lambda: cluster.health(standby).role == "sync_standby"
             or None, timeout=60)


def _timed(url: str, body: dict | None = None, timeout: float = 5.0) -> tuple[int | str, float]:
    data = json.dumps(body).encode() if body else None
    req = urllib.request.Request(url, data=data, method="POST" if body else "GET",
                                 headers={"Content-Type": "application/json"})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            code: int | str = resp.status
    except urllib.error.HTTPError as err:
        code = err.code
    except (urllib.error.URLError, OSError) as err:
        code = type(err).__name__
    return code, time.monotonic() - start


ORDER = {"account": "links", "symbol": "AAPL", "side": "buy", "type": "limit", "quantity": 1,
         "price": "185.00"}


def test_link_latency_slows_only_that_link(cluster, engine) -> None:
    gw = _url(cluster, "gateway")
    req = urllib.request.Request(gw + "/v1/orders", data=json.dumps(ORDER).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        order_id = json.loads(resp.read())["order_id"]
    fault = _inject(engine, "network-latency", "gateway",
                    {"peer": "marketdata", "latency_ms": 450, "duration_s": 30})
    _, quote = _timed(gw + "/v1/quotes/AAPL")     # (the gateway gives up on it at 0.5 s)
    _, lookup = _timed(f"{gw}/v1/orders/{order_id}")     # gateway -> ledger: not delayed
    _revert(engine, fault)
    _, after = _timed(gw + "/v1/quotes/AAPL")
    # an undelayed request takes less than the added latency: nearly all of it is room for a
    # loaded machine
    assert quote >= 0.449 and lookup < 0.44 and after < 0.44, (quote, lookup, after)


def test_link_blackhole_hangs_the_ledger_writes_of_one_shard(cluster, engine) -> None:
    gw = _url(cluster, "gateway")
    fault = _inject(engine, "network-blackhole", "matcher-0",
                    {"peer": "ledger-proxy", "duration_s": 30})
    code, took = _timed(gw + "/v1/orders", ORDER, timeout=10)      # AAPL lives on shard 0
    other, _ = _timed(gw + "/v1/orders", {**ORDER, "symbol": "MSFT", "price": "400.00"})
    _revert(engine, fault)
    assert code == 503 and took >= 2.5                # the matcher gave up after its deadline
    assert other == 201
    wait_for("shard 0 writes again", lambda: _timed(gw + "/v1/orders", ORDER)[0] == 201
             or None, timeout=20)


def test_link_reset_and_bandwidth(cluster, engine) -> None:
    gw = _url(cluster, "gateway")
    fault = _inject(engine, "network-reset", "gateway", {"peer": "marketdata", "duration_s": 30})
    code, _ = _timed(gw + "/v1/quotes/AAPL")
    _revert(engine, fault)
    assert code == 503
    fault = _inject(engine, "network-bandwidth", "gateway",
                    {"peer": "marketdata", "bandwidth_kbps": 4, "duration_s": 30})
    _, slow = _timed(gw + "/v1/quotes")               # all quotes: a few kB at 4 kbit/s
    _revert(engine, fault)
    _, fast = _timed(gw + "/v1/quotes")
    assert slow > 5 * fast and slow > 0.3


def _frozen_updates(base_url: str) -> float:
    """Updates a frozen market data service received and did not apply, from its /metrics."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "testbed_injected_faults_total" and s.labels.get("kind") == "freeze")


def test_app_errors_slow_answers_and_stale_market_data(cluster, engine) -> None:
    gw = _url(cluster, "gateway")
    md = _url(cluster, "marketdata")
    fault = _inject(engine, "app-errors", "gateway", {"error_rate": 1.0, "duration_s": 30})
    assert _timed(gw + "/v1/orders", ORDER)[0] == 503
    assert _get(gw + "/healthz") == 200               # the fault spares health and metrics
    _revert(engine, fault)
    assert _timed(gw + "/v1/orders", ORDER)[0] == 201
    fault = _inject(engine, "app-slow", "marketdata", {"delay_ms": 400, "duration_s": 30})
    _, took = _timed(md + "/v1/quotes/AAPL")
    _revert(engine, fault)
    assert took >= 0.39
    fault = _inject(engine, "marketdata-stall", "marketdata", {"duration_s": 30})
    frozen_at, dropped = time.time(), _frozen_updates(md)

    def age() -> float:
        with urllib.request.urlopen(md + "/v1/quotes/AAPL", timeout=5) as resp:
            return float(json.loads(resp.read())["age_seconds"])
    _timed(gw + "/v1/orders", {**ORDER, "side": "sell", "price": "185.00"})   # a trade
    wait_for("market data to receive (and drop) an update", lambda: _frozen_updates(md)
             > dropped, timeout=30)
    asked = time.time()
    stale = age()
    _revert(engine, fault)
    # nothing it received since the fault was applied (age_seconds is rounded to the ms)
    assert stale >= asked - frozen_at - 0.001, (stale, asked - frozen_at)


def test_nothing_is_left_behind(cluster, engine) -> None:
    assert engine.ctx.store.open_faults() == []
    assert cluster.network().nft.rules() == []                     # no rule of any fault
    assert find_owned([cluster.workspace.root / "chaos"]) == []         # no helper process
    # every instance ready again; on a loaded machine a readiness probe may time out for a
    # moment after the last fault (matcher-0's ledger probe did), so wait with a deadline
    wait_for("every instance ready", lambda: all(
        i.health.ready for i in cluster.info().instances) or None, timeout=60)
