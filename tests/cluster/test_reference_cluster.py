"""The reference trading cluster, started for real: every component, Prometheus, traces, the
platform's actions, the failover drill through the meter, and a crashed supervisor.

Tests run in file order on one cluster; the last ones are destructive.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from controlplane.application.drills import ledger_failover_drill
from controlplane.drills import DrillSettings
from controlplane.errors import PlatformError, UnknownTarget
from controlplane.host.procs import alive, find_owned
from controlplane.observe.prometheus import PrometheusClient
from controlplane.platform import Platform
from controlplane.slo import load_slos
from controlplane.slo.budget import error_budgets
from controlplane.store import Store
from controlplane.trading.journals import acknowledged_orders
from tests.support.local import pid, process_roots
from tests.support.loops import marketdata_stall_loop
from tests.support.net import wait_for

pytestmark = pytest.mark.cluster


def _url(platform: Platform, component: str, port: str = "http") -> str:
    return platform.instances(component)[0].endpoints[port]


def _http(method: str, url: str, body: object | None = None,
          token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _order(**overrides: object) -> dict:
    return {"account": "acct-1", "symbol": "AAPL", "side": "buy", "type": "limit",
            "quantity": 5, "price": "190.00", **overrides}


def test_every_component_is_ready_with_a_primary_and_a_sync_standby(cluster) -> None:
    def all_ready():
        info = cluster.info()
        return info if all(i.health.ready and i.state == "running"
                           for i in info.instances) else None
    # `up` returned once everything was ready; an instance that lost a port race with another
    # process on this shared machine is restarted by its policy, so allow it a moment
    info = wait_for("every instance ready", all_ready, timeout=30, interval=0.5)
    assert info.phase == "ready"
    roles = sorted(i.health.role for i in cluster.instances("ledger"))
    assert roles == ["primary", "sync_standby"]
    assert {c.name for c in info.components} == set(cluster.topology().services)


def test_prometheus_scrapes_every_instance_and_all_are_up(cluster) -> None:
    prom = PrometheusClient(_url(cluster, "prometheus"))
    expected = {i.id for i in cluster.info().instances}

    def all_up() -> bool:
        samples = prom.query("up")
        return {s.labels["instance_id"] for s in samples if s.value == 1} == expected
    wait_for("every Prometheus target up == 1", all_up, timeout=30, interval=0.5)
    assert all(t.health == "up" for t in prom.targets())


def test_prometheus_loads_the_slo_rules(cluster) -> None:
    with urllib.request.urlopen(_url(cluster, "prometheus") + "/api/v1/rules", timeout=10) as r:
        groups = {g["name"]: g for g in json.loads(r.read())["data"]["groups"]}
    assert {"slo-recordings", "slo-burn-rate-alerts", "symptom-alerts"} <= set(groups)
    assert all(rule["health"] != "err" for g in groups.values() for rule in g["rules"])


def test_error_budgets_are_read_from_prometheus(cluster) -> None:
    prom = PrometheusClient(_url(cluster, "prometheus"))
    policy = load_slos()

    def availability():                                 # good orders meanwhile: a rate needs
        assert _http("POST", _url(cluster, "gateway") + "/v1/orders", _order())[0] == 201
        b = {x.slo: x for x in error_budgets(prom, policy)}["order-availability"]
        return b if b.remaining_ratio is not None else None     # two scrapes with an increase
    b = wait_for("order-availability budget", availability, timeout=40, interval=1)
    assert b.error_ratio == 0 and b.remaining_ratio == 1      # no 5xx answered so far
    assert abs(b.remaining_minutes - 4.32) < 1e-6 and abs(b.budget_minutes - 4.32) < 1e-6
    result = subprocess.run(
        [sys.executable, "-m", "controlplane", "slo", "status", "--json", "--state-dir",
         str(cluster.workspace.root)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {r["slo"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {s.name for s in policy.slos}
    assert rows["order-availability"]["remaining_ratio"] == 1


def test_a_down_component_alerts_the_control_plane_within_seconds(cluster) -> None:
    """Prometheus evaluates the generated rules every second and posts to our intake."""
    cluster.stop("marketdata-0")
    stopped = time.time()
    try:
        def alerted() -> list | None:
            _, firing = _http("GET", _url(cluster, "controlplane") + "/api/v2/alerts",
                              token=cluster.state.secrets()["owner"])
            hits = [a for a in firing if a["labels"].get("alertname") == "ComponentDown"
                    and a["labels"].get("instance_id") == "marketdata-0"]
            return hits or None
        wait_for("ComponentDown for marketdata-0", alerted, timeout=30, interval=0.5)
        assert time.time() - stopped < 20                 # detected, fired and delivered
    finally:
        cluster.start("marketdata-0")
        wait_for("marketdata back", lambda: cluster.health("marketdata-0").ready or None,
                 timeout=30)


def test_the_control_plane_asks_for_credentials_and_the_cluster_sends_them(cluster) -> None:
    """Without a token the service answers 401 and stores nothing; Prometheus scrapes it with
    its own credential (the job is up); the other tests show the alert intake and the trace
    receiver getting their credentials from Prometheus and the services."""
    api = _url(cluster, "controlplane")
    forged = [{"labels": {"alertname": "GatewayCrashLoop", "service": "gateway",
                          "instance_id": "gateway-0", "severity": "critical"}}]
    assert _http("POST", api + "/api/v2/alerts", forged)[0] == 401
    assert _http("GET", api + "/api/v1/drills")[0] == 401
    status, me = _http("GET", api + "/api/v1/whoami", token=cluster.state.secrets()["owner"])
    assert (status, me["role"]) == (200, "admin")
    with Store(cluster.workspace.store_path) as store:
        assert not [a for a in store.alert_history(50) if a.alertname == "GatewayCrashLoop"]
        failed = [e for e in store.audit_entries() if e.action == "auth.failed"]
    assert len(failed) >= 2

    def scraped() -> bool | None:
        with urllib.request.urlopen(_url(cluster, "prometheus") + "/api/v1/query?query="
                                    "up%7Bjob%3D%22controlplane%22%7D", timeout=10) as r:
            result = json.loads(r.read())["data"]["result"]
        return bool(result) and all(s["value"][1] == "1" for s in result) or None
    wait_for("Prometheus scraping the control plane with its credential", scraped,
             timeout=20, interval=0.5)


def test_one_order_is_one_trace_across_gateway_matcher_and_ledger(cluster) -> None:
    status, ack = _http("POST", _url(cluster, "gateway") + "/v1/orders", _order())
    assert status == 201 and ack["seq"] > 0
    trace_url = _url(cluster, "controlplane") + f"/api/v1/traces/{ack['trace_id']}"

    def spans() -> list[dict] | None:
        code, body = _http("GET", trace_url, token=cluster.state.secrets()["owner"])
        got = body.get("spans", []) if code == 200 else []
        services = {s["service"] for s in got}
        ledger = [s for s in got if s.get("attributes", {}).get("peer.service") == "ledger"]
        return got if {"gateway", "matcher"} <= services and ledger else None
    got = wait_for("the order's spans at the control plane", spans, timeout=20, interval=0.3)
    by_id = {s["span_id"]: s for s in got}
    assert {s["trace_id"] for s in got} == {ack["trace_id"]}
    # the ledger write hangs under the matcher, which hangs under the gateway
    ledger = next(s for s in got if s["service"] == "matcher"
                  and s.get("attributes", {}).get("peer.service") == "ledger")
    chain = []
    span = ledger
    while span is not None:
        chain.append(span["service"])
        span = by_id.get(span["parent_span_id"])
    assert chain[0] == "matcher" and chain[-1] == "gateway"


BAD = [
    ({"quantity": 0}, "quantity"),
    ({"quantity": -3}, "quantity"),
    ({"symbol": "NOPE"}, "symbol"),
    ({"price": "500.00"}, "price"),          # outside the price band
    ({"side": "hold"}, "side"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_bad_orders_get_a_4xx_naming_the_field(cluster, change, field) -> None:
    code, body = _http("POST", _url(cluster, "gateway") + "/v1/orders", _order(**change))
    assert 400 <= code < 500
    assert body["error"]["field"] == field


def test_the_acknowledgement_journal_needs_the_admin_token(cluster) -> None:
    status, ack = _http("POST", _url(cluster, "gateway") + "/v1/orders", _order())
    assert status == 201
    assert _http("GET", _url(cluster, "gateway") + "/admin/acks?since=0")[0] == 401
    journals = acknowledged_orders(cluster, time.time() - 60)
    acks = {a["order_id"]: a["seq"] for j in journals.values() for a in j["acks"]}
    assert acks[ack["order_id"]] == ack["seq"]
    req = urllib.request.Request(_url(cluster, "gateway") + "/admin/acks?since=soon",
                                 headers={"Authorization": "Bearer "
                                          + cluster.state.secrets()["admin"]})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400 and json.loads(err.value.read())["error"]["field"] == "since"


def test_malformed_json_is_a_400_not_a_500(cluster) -> None:
    req = urllib.request.Request(_url(cluster, "gateway") + "/v1/orders", data=b"{not json",
                                 method="POST", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400


def test_the_autoscale_drill_refuses_a_matcher_no_load_can_saturate(cluster) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "controlplane", "drill", "autoscale", *args,
                               "--state-dir", str(cluster.workspace.root)],
                              capture_output=True, text=True, timeout=60)
    bad_rate = run("--rate", "-3")
    assert bad_rate.returncode == 2 and "--rate" in bad_rate.stderr
    no_cost = run()                                    # the shipped matcher has no engine cost
    assert no_cost.returncode == 2, no_cost.stderr
    assert "matcher.settings.engine_cost_ms" in no_cost.stderr and "e.g. 20" in no_cost.stderr


def test_status_command_shows_roles_and_addresses(cluster) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "controlplane", "cluster", "status", "--state-dir",
         str(cluster.workspace.root)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "primary" in result.stdout and "sync_standby" in result.stdout
    gw = _url(cluster, "gateway").removeprefix("http://")
    assert gw in result.stdout


def store_steps(cluster, run_id: int):
    with Store(cluster.workspace.store_path) as store:
        return store.runbook_steps(run_id)


def _wait_health(cluster, inst: str, ready: bool, timeout: float = 30):
    return wait_for(f"{inst} ready={ready}",
                    lambda: cluster.health(inst).ready == ready or None, timeout=timeout)


def test_pause_and_resume_freeze_and_unfreeze_an_instance(cluster) -> None:
    url = _url(cluster, "marketdata") + "/healthz"
    assert cluster.freeze("marketdata-0").state == "paused"
    with pytest.raises(OSError):                       # frozen: no answer at all
        urllib.request.urlopen(url, timeout=1)
    _wait_health(cluster, "marketdata-0", ready=False)
    cluster.thaw("marketdata-0")
    _wait_health(cluster, "marketdata-0", ready=True)
    assert urllib.request.urlopen(url, timeout=5).status == 200


def test_a_killed_gateway_is_restarted_by_its_policy(cluster) -> None:
    before = cluster.info().instance("gateway-0")
    cluster.kill("gateway-0")
    wait_for("gateway-0 restarted", lambda: pid(i := cluster.info().instance("gateway-0"))
             and i.incarnation != before.incarnation and i.restarts == before.restarts + 1,
             timeout=30)
    _wait_health(cluster, "gateway-0", ready=True)
    assert not alive(pid(before))


def test_stop_keeps_an_instance_down_until_start(cluster) -> None:
    stopped = cluster.stop("matcher-1")
    assert stopped.state == "stopped" and not stopped.running
    time.sleep(2)                                      # longer than any restart backoff
    assert cluster.info().instance("matcher-1").state == "stopped"
    cluster.start("matcher-1")
    _wait_health(cluster, "matcher-1", ready=True)


def test_scale_starts_one_more_serving_instance_that_prometheus_scrapes(cluster) -> None:
    new = cluster.scale("gateway")
    assert new.id == "gateway-1"
    _wait_health(cluster, "gateway-1", ready=True)
    status, ack = _http("POST", new.endpoints["http"] + "/v1/orders", _order(symbol="MSFT",
                                                                            price="410.00"))
    assert status == 201
    prom = PrometheusClient(_url(cluster, "prometheus"))
    wait_for("gateway-1 scraped", lambda: prom.query('up{instance_id="gateway-1"} == 1'),
             timeout=30, interval=0.5)


def test_scaling_a_stateful_component_is_refused_with_the_reason(cluster) -> None:
    # the matcher scales (tests/cluster/test_matcher_autoscaling.py); the ledger does not
    with pytest.raises(PlatformError, match="does not support scaling ledger"):
        cluster.scale("ledger")
    assert [i.id for i in cluster.instances("matcher")] == ["matcher-0", "matcher-1"]


def test_unknown_instance_lists_the_valid_ones(cluster) -> None:
    with pytest.raises(UnknownTarget) as err:
        cluster.kill("gatewy-0")
    assert "gateway-0" in str(err.value) and "ledger-1" in str(err.value)


def test_down_then_up_keeps_the_ledger_and_the_addresses(cluster) -> None:
    status, ack = _http("POST", _url(cluster, "gateway") + "/v1/orders",
                        _order(account="persist", symbol="JPM", price="200.00"))
    assert status == 201
    gateway = _url(cluster, "gateway")
    roots = process_roots(cluster)
    report = cluster.down()
    assert report.stopped and report.swept == []       # the supervisor stopped everything
    assert find_owned(roots) == []
    cluster.up(cluster.topology(), timeout=240)
    assert _url(cluster, "gateway") == gateway          # same ports as before
    code, order = _http("GET", f"{gateway}/v1/orders/{ack['order_id']}")
    assert code == 200 and order["seq"] == ack["seq"] and order["status"] == "new"


@pytest.mark.e2e
def test_marketdata_stall_loop_the_alert_restarts_market_data(cluster) -> None:
    """A 120 s stall: MarketDataStale reaches the control plane, the marketdata-stall-recovery
    runbook restarts the service and sees fresh quotes long before the stall would end."""
    _wait_health(cluster, "marketdata-0", ready=True)
    with Store(cluster.workspace.store_path) as store:       # nothing else acting on it now
        wait_for("no runbook on marketdata", lambda: not store.runbook_runs(
            active=True, target="marketdata"), timeout=60, interval=0.5)
    since, loop = marketdata_stall_loop(cluster, "test-stall-loop")
    assert loop.alerted_at is not None, "MarketDataStale never reached the control plane"
    assert loop.run_state == "succeeded", (loop.run_error, loop.steps)
    assert [s["name"] for s in loop.steps if s["kind"] == "step"][:2] == ["restart",
                                                                         "verify-fresh"]
    assert loop.run_ended_at < since + 120             # fixed by the runbook, not by the ttl


@pytest.mark.e2e
def test_failover_loop_alert_runbook_recovery_and_no_acknowledged_order_lost(cluster) -> None:
    """Kill the primary (Patroni and PostgreSQL, SIGKILL) under 50 orders/s: the alert starts the
    ledger-failover runbook, writes recover, and every acknowledged order is in the ledger."""
    events: list[str] = []
    with Store(cluster.workspace.store_path) as store:
        outcome = asyncio.run(ledger_failover_drill(
            cluster, store, DrillSettings(rate=50, warmup_s=3, settle_s=2),
            lambda event: events.append(event.kind)))
        drill = store.get_drill(outcome.drill_id)         # the record this drill wrote
        assert drill is not None
        recorded = [e.kind for e in store.drill_events(drill.id)]
        faults = store.open_faults()
    assert outcome.rpo.acknowledged > 100
    assert outcome.rpo.lost == 0, outcome.rpo.lost_order_ids
    assert outcome.rto.recovered
    assert outcome.failover_s is not None
    assert outcome.failover_s <= outcome.targets.failover_seconds
    assert outcome.new_primary not in (None, outcome.target)
    assert drill.state == "passed" and drill.result["rpo_orders"] == 0
    for kind in ("fault_injected", "detected", "promoted", "routed", "recovered", "rejoined",
                 "alerted", "runbook_started", "first_action", "runbook_done"):
        assert kind in recorded
    assert faults == []                                # the kill was reverted (node rejoined)
    roles = sorted(i.health.role for i in cluster.instances("ledger"))
    assert roles == ["primary", "sync_standby"]
    # the closed loop: LedgerNoPrimary reached the control plane and its runbook ran to the end
    loop = outcome.loop
    assert loop.alerted_at is not None and loop.alerted_at > outcome.fault_at
    assert loop.run_state == "succeeded", (loop.run_error, loop.steps)
    done = {s["name"] for s in loop.steps if s["kind"] == "step" and s["state"] == "succeeded"}
    assert {"promote-sync-standby", "verify-routing", "verify-writes",
            "reconcile-acknowledged-orders", "rejoin-old-primary", "reconcile-after-rejoin"} <= done
    reconciled = [s for s in store_steps(cluster, loop.run_id)
                  if s.name == "reconcile-acknowledged-orders" and s.state == "succeeded"][0]
    assert reconciled.output["missing"] == 0 and reconciled.output["acknowledged"] > 100
    assert drill.result["loop"]["run_id"] == loop.run_id


@pytest.mark.e2e
def test_a_crashed_supervisor_takes_every_process_with_it(cluster) -> None:
    roots = process_roots(cluster)
    assert find_owned(roots)
    pid = cluster.state.supervisor_pid()
    os.kill(pid, signal.SIGKILL)
    wait_for("every cluster process to exit", lambda: find_owned(roots) == [], timeout=60,
             interval=0.5)
