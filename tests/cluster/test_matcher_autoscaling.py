"""Matcher autoscaling on a real cluster started with one matcher whose engine takes 20 ms an
order (50 orders/s of capacity): scale out and in under steady order traffic (orders keep
flowing, none lost, none filled twice), the limits, and the closed loop end to end
(MatcherSaturated -> control plane -> matcher-autoscaling runbook -> p99 back under 100 ms).

Tests run in file order on one cluster.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from controlplane.application.drills import autoscale_drill
from controlplane.drills.autoscale import (
    AutoscaleSettings,
    autoscale_topology,
    ledger_consistency,
)
from controlplane.errors import PlatformError
from controlplane.meter import measure_rpo, present_orders
from controlplane.meter.background import BackgroundMeter
from controlplane.observe.prometheus import PrometheusClient
from controlplane.platform import Platform
from controlplane.store import Store
from tests.support.cluster import running_cluster
from tests.support.net import wait_for

pytestmark = pytest.mark.cluster

ENGINE_COST_MS = 20
SYMBOLS = ("AAPL", "AMZN", "MSFT", "NVDA")     # two shards of two under a 2-matcher map


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_cluster(tmp_path_factory, autoscale_topology(ENGINE_COST_MS),
                         "autoscale") as platform:
        yield platform


def _gateway(cluster: Platform) -> str:
    return cluster.instances("gateway")[0].endpoints["http"]


def _shardmap(cluster: Platform, instance: str) -> dict:
    url = cluster.info().instance(instance).endpoints["http"] + "/admin/shardmap"
    req = urllib.request.Request(url, headers={
        "Authorization": f"Bearer {cluster.state.secrets()['admin']}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def _under_load(cluster: Platform, action, rate: float = 30.0, before_s: float = 2.0,
                after_s: float = 3.0):
    """Run `action` in the middle of steady order traffic; (its result, the attempts,
    when it ran)."""
    meter = BackgroundMeter(_gateway(cluster), rate, symbols=SYMBOLS, max_seconds=60).start()
    assert meter.error is None, meter.error
    try:
        time.sleep(before_s)
        at = time.time()
        result = action()
        time.sleep(after_s)
    finally:
        attempts = meter.stop()
    assert meter.writer is not None
    return result, attempts, at, meter.writer


def _no_order_lost_or_filled_twice(cluster: Platform, writer, attempts, at: float) -> None:
    acked = [a for a in attempts if a.ok]
    assert any(a.intended < at for a in acked) and any(a.intended > at + 0.5 for a in acked)
    failed = [a for a in attempts if not a.ok]
    assert len(failed) <= 0.05 * len(attempts), [(a.outcome, a.status, a.detail)
                                                  for a in failed[:10]]
    dsn = cluster.ledger_dsn()
    rpo = measure_rpo(acked, asyncio.run(present_orders(dsn, [a.order_id for a in acked])))
    assert rpo.lost == 0, rpo.lost_order_ids
    misfilled, crossed = asyncio.run(ledger_consistency(dsn, writer.account, list(SYMBOLS)))
    assert (misfilled, crossed) == (0, [])


def _put_shardmap(url: str, body: object, token: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url + "/admin/shardmap", data=json.dumps(body).encode(),
                                 method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_the_shardmap_admin_api_refuses_bad_stale_and_unauthenticated_maps(cluster) -> None:
    token = cluster.state.secrets()["admin"]
    matcher = cluster.instances("matcher")[0].endpoints["http"]
    current = _shardmap(cluster, "matcher-0")
    assert _put_shardmap(matcher, {"epoch": current["epoch"] + 1, "shards": 1}, None)[0] == 401
    status, body = _put_shardmap(matcher, {"epoch": 0, "shards": 1}, token)
    assert status == 400 and body["error"]["field"] == "epoch"
    status, body = _put_shardmap(matcher, {"epoch": current["epoch"], "shards": 3}, token)
    assert status == 409 and body["shard_epoch"] == current["epoch"]
    status, same = _put_shardmap(matcher, {"epoch": current["epoch"], "shards": 1}, token)
    assert status == 200 and same["loaded"] and len(same["owned"]) == 8   # idempotent
    status, body = _put_shardmap(_gateway(cluster), {
        "epoch": current["epoch"] + 1, "shards": 2, "matchers": [matcher]}, token)
    assert status == 400 and "one URL per shard" in body["error"]["message"]


def test_scale_out_under_load_moves_symbols_to_a_new_matcher_and_loses_nothing(cluster) -> None:
    new, attempts, at, writer = _under_load(cluster, lambda: cluster.scale("matcher"))
    assert new.id == "matcher-1"
    assert [i.id for i in cluster.instances("matcher")] == ["matcher-0", "matcher-1"]
    _no_order_lost_or_filled_twice(cluster, writer, attempts, at)
    maps = [_shardmap(cluster, m) for m in ("matcher-0", "matcher-1")]
    assert maps[0]["epoch"] == maps[1]["epoch"] >= 2 and maps[0]["shards"] == 2
    assert sorted(maps[0]["owned"] + maps[1]["owned"]) == sorted(
        ["AAPL", "AMZN", "GOOG", "JPM", "MSFT", "NVDA", "TSLA", "XOM"])
    assert maps[1]["owned"] and maps[1]["loaded"]
    links = {link["name"] for link in cluster.links().links()}
    assert {"gateway-0->matcher-1", "matcher-1->ledger-proxy-0",
            "matcher-1->marketdata-0"} <= links
    report = cluster.scale_reports()[-1]
    assert report["direction"] == "out" and report["ready_at"] <= report["switched_at"]
    prom = PrometheusClient(cluster.instances("prometheus")[0].endpoints["http"])
    wait_for("matcher-1 scraped", lambda: prom.query('up{instance_id="matcher-1"} == 1'),
             timeout=30, interval=0.5)


def test_scale_in_under_load_moves_symbols_back_drains_and_forgets(cluster) -> None:
    gone, attempts, at, writer = _under_load(cluster, lambda: cluster.scale_in("matcher"))
    assert gone.id == "matcher-1" and gone.state == "stopped"
    assert [i.id for i in cluster.instances("matcher")] == ["matcher-0"]
    _no_order_lost_or_filled_twice(cluster, writer, attempts, at)
    view = _shardmap(cluster, "matcher-0")
    assert view["shards"] == 1 and len(view["owned"]) == 8 and view["loaded"]
    assert not [n for n in (link["name"] for link in cluster.links().links())
                if "matcher-1" in n]
    report = cluster.scale_reports()[-1]
    assert report["direction"] == "in"
    assert any("drained" in s["what"] or "drain" in s["what"] for s in report["steps"])
    prom = PrometheusClient(cluster.instances("prometheus")[0].endpoints["http"])
    wait_for("matcher-1 no longer a target", lambda: not prom.query(
        'up{instance_id="matcher-1"}'), timeout=30, interval=0.5)


def test_scale_in_stops_at_one_instance_and_names_the_reason(cluster) -> None:
    with pytest.raises(PlatformError, match="cannot scale in below 1"):
        cluster.scale_in("matcher")
    with pytest.raises(PlatformError, match="does not support scaling ledger"):
        cluster.scale_in("ledger")
    result = subprocess.run(
        [sys.executable, "-m", "controlplane", "cluster", "scale", "matcher", "--in",
         "--state-dir", str(cluster.workspace.root)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "below 1" in result.stdout + result.stderr
    assert [i.id for i in cluster.instances("matcher")] == ["matcher-0"]


@pytest.mark.e2e
def test_the_autoscaling_loop_scales_out_and_brings_p99_back_under_the_slo(cluster) -> None:
    """Order load past one matcher's capacity: MatcherSaturated reaches the control plane, the
    matcher-autoscaling runbook scales out, p99 comes back under 100 ms, RPO = 0."""
    events: list[tuple[str, float]] = []
    # room for a loaded machine: the drill returns as soon as p99 is back and the run is over
    settings = AutoscaleSettings(rate=60, symbols=SYMBOLS, max_wait_s=150)
    with Store(cluster.workspace.store_path) as store:
        outcome = asyncio.run(autoscale_drill(
            cluster, store, settings, lambda event: events.append((event.kind, event.at))))
        drill = store.get_drill(outcome.drill_id)         # the record this drill wrote
        assert drill is not None
        recorded = [e.kind for e in store.drill_events(drill.id)]
    print(json.dumps({k: v for k, v in outcome.result().items() if k != "loop"}, indent=1))
    assert outcome.alerted_at is not None, "MatcherSaturated never reached the control plane"
    assert outcome.loop.run_state == "succeeded", (outcome.loop.run_error, outcome.loop.steps)
    assert outcome.instances_after == outcome.instances_before + 1
    assert outcome.instance_ready_at is not None and outcome.switched_at is not None
    assert outcome.alerted_at < outcome.scale_out_at < outcome.instance_ready_at  # type: ignore[operator]
    assert outcome.p99_before_ms is not None and outcome.p99_before_ms > 100
    assert outcome.p99_under_slo, (outcome.sli_after, outcome.p99_after_ms)  # p99 < 100 ms
    assert outcome.rpo.acknowledged > 300 and outcome.rpo.lost == 0, outcome.rpo.lost_order_ids
    assert outcome.double_fills == 0 and outcome.crossed_books == []
    assert drill.state == "passed" and drill.result["rpo_orders"] == 0
    for kind in ("load_started", "alerted", "runbook_started", "scale_out", "instance_ready",
                 "rebalanced", "p99_recovered", "runbook_done", "rpo_checked"):
        assert kind in recorded
