"""Configuration the local platform generates, checked by the real tools that will read it.

What this covers: Prometheus (promtool check config), Alertmanager (amtool check-config and
its routing tree), HAProxy (haproxy -c) and Patroni
(patroni --validate-config) accept what we write. It does not start them (tests/cluster does).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from controlplane.observe.scrape_config import ScrapeTarget, write_targets
from controlplane.platform.local.daemon import build_context
from controlplane.platform.local.kinds import KINDS
from controlplane.platform.local.state import ClusterRecord, StateDir
from controlplane.topology import load_topology, resolve_ports, with_alertmanager

pytestmark = pytest.mark.cluster


@pytest.fixture()
def ctx(tmp_path: Path):
    topo = load_topology()
    state = StateDir(tmp_path / "state")
    state.make()
    state.write_cluster(ClusterRecord(topo.name, topo.model_dump(mode="json"),
                                      resolve_ports(topo, all_auto=True).ports, []))
    context = build_context(state)
    yield context
    if context.pg_root != state.root / "data":      # the /var/tmp fallback for postgres
        shutil.rmtree(context.pg_root, ignore_errors=True)


def _spec(ctx, service: str, index: int = 0):
    svc = ctx.topology.services[service]
    return KINDS[svc.kind].build(ctx, service, svc, index)


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def test_prometheus_config_passes_promtool(ctx) -> None:
    spec = _spec(ctx, "prometheus")
    write_targets(ctx.state.targets_dir, "gateway",
                  [ScrapeTarget("gateway", "gateway-0", "127.0.0.1:1234", "gateway", "critical")])
    cfg = spec.cwd / "prometheus.yml"
    result = _run(["promtool", "check", "config", str(cfg)])
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {j["job_name"] for j in yaml.safe_load(cfg.read_text())["scrape_configs"]}
    assert jobs == set(ctx.topology.services)       # every component is scraped
    assert yaml.safe_load(cfg.read_text())["global"]["scrape_interval"] == "1s"


def test_haproxy_config_is_valid_and_checks_patroni_primary(ctx) -> None:
    spec = _spec(ctx, "ledger-proxy")
    cfg = spec.cwd / "haproxy.cfg"
    result = _run(["haproxy", "-c", "-f", str(cfg)])
    assert result.returncode == 0, result.stdout + result.stderr
    text = cfg.read_text()
    assert "option httpchk GET /primary" in text
    for node in ("ledger-0", "ledger-1"):
        assert f"check port {ctx.ports[node]['api']}" in text


# We run on loopback on purpose (traffic must stay on this machine); Patroni's validator
# assumes a network deployment and etcd already running, so those two complaints are expected.
EXPECTED = ('must not contain "127.0.0.1"', "is not reachable")


def test_patroni_config_validates(ctx) -> None:
    spec = _spec(ctx, "ledger")
    cfg = Path(spec.argv[-1])
    assert spec.argv[:3] == ["/usr/bin/python3", "-m", "patroni"]   # the pinned Patroni 4
    result = _run([*spec.argv[:-1], "--validate-config", str(cfg)], env=spec.env)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    unexpected = [c for c in complaints if not any(e in c for e in EXPECTED)]
    assert unexpected == []
    data = yaml.safe_load(cfg.read_text())
    assert data["bootstrap"]["dcs"]["synchronous_mode"] is True
    assert data["bootstrap"]["dcs"]["ttl"] == 20


def test_controlplane_forwards_spans_when_the_topology_says_so(ctx) -> None:
    svc = ctx.topology.services["controlplane"]
    spec = KINDS["controlplane"].build(ctx, "controlplane", svc, 0)
    assert "--forward-otlp" not in spec.argv
    forwarding = svc.model_copy(update={"settings": {
        "forward_otlp_endpoint": "http://127.0.0.1:4318/v1/traces"}})
    spec = KINDS["controlplane"].build(ctx, "controlplane", forwarding, 0)
    assert spec.argv[spec.argv.index("--forward-otlp") + 1] == "http://127.0.0.1:4318/v1/traces"


@pytest.fixture()
def am_ctx(tmp_path: Path):
    """The reference topology with Alertmanager (`cluster up --alertmanager`), and a people
    receiver as a topology would give it."""
    topo = with_alertmanager(load_topology())
    people = {"webhook_configs": [{"url": "http://127.0.0.1:9/people", "send_resolved": False}]}
    services = dict(topo.services)
    services["alertmanager"] = services["alertmanager"].model_copy(
        update={"settings": {"people": people}})
    topo = topo.model_copy(update={"services": services})
    state = StateDir(tmp_path / "state")
    state.make()
    state.write_cluster(ClusterRecord(topo.name, topo.model_dump(mode="json"),
                                      resolve_ports(topo, all_auto=True).ports, []))
    yield build_context(state)


def test_alertmanager_config_passes_amtool_and_routes_notifications_only_to_people(
        am_ctx) -> None:
    spec = _spec(am_ctx, "alertmanager")
    cfg = spec.cwd / "alertmanager.yml"
    result = _run(["amtool", "check-config", str(cfg)])
    assert result.returncode == 0, result.stdout + result.stderr
    intake = f"{am_ctx.url('controlplane-0')}/api/v2/alerts"
    routed = _run(["amtool", "config", "routes", "test", f"--config.file={cfg}",
                   "alertname=RunbookNotification", "run_id=7"])
    assert routed.stdout.split() == ["people"], routed.stdout + routed.stderr   # no loop back
    routed = _run(["amtool", "config", "routes", "test", f"--config.file={cfg}",
                   "alertname=ComponentDown", "instance_id=marketdata-0"])
    assert routed.stdout.split() == ["controlplane"], routed.stdout + routed.stderr
    hook = yaml.safe_load(cfg.read_text())["receivers"][0]["webhook_configs"][0]
    assert (hook["url"], hook["send_resolved"]) == (intake, True)
    token = Path(hook["http_config"]["authorization"]["credentials_file"])
    assert token.read_text() == am_ctx.secrets["intake"]
    assert token.stat().st_mode & 0o077 == 0


def test_prometheus_sends_to_alertmanager_when_the_cluster_has_one(am_ctx) -> None:
    spec = _spec(am_ctx, "prometheus")
    cfg = yaml.safe_load((spec.cwd / "prometheus.yml").read_text())
    [am] = cfg["alerting"]["alertmanagers"]
    assert am["static_configs"] == [{"targets": [am_ctx.addr("alertmanager-0", "http")]}]
    assert "authorization" not in am          # the intake token stays with Alertmanager
    result = _run(["promtool", "check", "config", str(spec.cwd / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture()
def three_ctx(tmp_path: Path):
    """The three-node ledger variant (quorum commit, three etcd members)."""
    topo = load_topology(Path(__file__).resolve().parents[3] / "testbed"
                         / "topology.three-node.yaml")
    state = StateDir(tmp_path / "state")
    state.make()
    state.write_cluster(ClusterRecord(topo.name, topo.model_dump(mode="json"),
                                      resolve_ports(topo, all_auto=True).ports, []))
    context = build_context(state)
    yield context
    if context.pg_root != state.root / "data":
        shutil.rmtree(context.pg_root, ignore_errors=True)


def test_three_node_patroni_config_asks_for_quorum_commit_over_three_etcd_members(
        three_ctx) -> None:
    spec = _spec(three_ctx, "ledger", 2)
    cfg = Path(spec.argv[-1])
    result = _run([*spec.argv[:-1], "--validate-config", str(cfg)], env=spec.env)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    # Patroni 4.1.4's validator schema still types synchronous_mode as a boolean, though its
    # own global_config reads "quorum" (is_quorum_commit_mode); the cluster test runs it
    quorum = "synchronous_mode quorum is not a boolean"
    assert [c for c in complaints if not any(e in c for e in (*EXPECTED, quorum))] == []
    data = yaml.safe_load(cfg.read_text())
    assert data["bootstrap"]["dcs"]["synchronous_mode"] == "quorum"
    assert data["bootstrap"]["dcs"]["synchronous_node_count"] == 1
    assert len(data["etcd3"]["hosts"]) == 3


def test_three_node_haproxy_checks_every_node_and_etcd_peers_form_one_cluster(
        three_ctx) -> None:
    spec = _spec(three_ctx, "ledger-proxy")
    cfg = spec.cwd / "haproxy.cfg"
    result = _run(["haproxy", "-c", "-f", str(cfg)])
    assert result.returncode == 0, result.stdout + result.stderr
    for node in ("ledger-0", "ledger-1", "ledger-2"):
        assert f"check port {three_ctx.ports[node]['api']}" in cfg.read_text()
    argv = _spec(three_ctx, "etcd", 1).argv
    peers = argv[argv.index("--initial-cluster") + 1].split(",")
    assert [p.split("=")[0] for p in peers] == ["etcd-0", "etcd-1", "etcd-2"]
