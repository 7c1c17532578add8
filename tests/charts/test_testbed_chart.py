"""The trading-testbed chart: the ledger as Patroni with Kubernetes as its store (no etcd), a
Service that follows the primary's role label, the services' configs wired to each other, and
the same probes, /metrics and tracing as the local cluster.

Not covered: nothing is installed on a cluster. No Patroni runs, so no leader is elected and
no pod is ever labelled role=primary here; no scheduler, no kubelet, no real network.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import sys
from pathlib import Path

import pytest
import yaml

from testbed.config import load_service_config
from tests.charts.rendering import CHARTS, VARIANTS, containers, find, render

REPO = CHARTS.parent


def _variant(variant: str) -> tuple[str, str, list[dict]]:
    name, namespace, values = VARIANTS["trading-testbed"][variant]
    return name, namespace, render("trading-testbed", values, name=name, namespace=namespace)


def _env(container: dict) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize("variant", VARIANTS["trading-testbed"])
def test_the_ledger_service_follows_the_primary_role_label(variant: str) -> None:
    """Writes go to the Service selecting role=primary (the label Patroni puts on its leader);
    reads may use role=replica; the headless Service names every node, ready or not.
    Not covered: Patroni setting the label."""
    release, _, objects = _variant(variant)
    selector = {"app.kubernetes.io/name": "ledger", "app.kubernetes.io/instance": release}
    (primary,) = find(objects, "Service", f"{release}-ledger")
    assert primary["spec"]["selector"] == {**selector, "role": "primary"}
    (replicas,) = find(objects, "Service", f"{release}-ledger-replicas")
    assert replicas["spec"]["selector"] == {**selector, "role": "replica"}
    (statefulset,) = find(objects, "StatefulSet", f"{release}-ledger")
    (headless,) = find(objects, "Service", statefulset["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert statefulset["spec"]["selector"]["matchLabels"] == selector


def test_three_ledger_nodes_and_patroni_uses_kubernetes_not_etcd() -> None:
    """Patroni's store is the Kubernetes API (ConfigMap mode, its labels = the pods' selector,
    the pod IP from the downward API, leader label value "primary"); nothing names etcd.
    Not covered: Patroni running."""
    release, namespace, objects = _variant("three-ledger-nodes")
    (statefulset,) = find(objects, "StatefulSet", f"{release}-ledger")
    assert statefulset["spec"]["replicas"] == 3
    (patroni,) = statefulset["spec"]["template"]["spec"]["containers"]
    env = _env(patroni)
    assert json.loads(env["PATRONI_KUBERNETES_LABELS"]) == \
        statefulset["spec"]["selector"]["matchLabels"]
    # Patroni lists its members with its labels plus <scope label>=<scope>: the pods carry both
    patroni_selector = {**json.loads(env["PATRONI_KUBERNETES_LABELS"]),
                        env["PATRONI_KUBERNETES_SCOPE_LABEL"]: env["PATRONI_SCOPE"]}
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert pod_labels.items() >= patroni_selector.items()
    assert env["PATRONI_KUBERNETES_USE_ENDPOINTS"] == "false"
    assert env["PATRONI_KUBERNETES_POD_IP"] == "$(POD_IP)"
    assert env["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["PATRONI_KUBERNETES_ROLE_LABEL"] == "role"
    assert env["PATRONI_KUBERNETES_LEADER_LABEL_VALUE"] == "primary"
    assert env["PATRONI_SCOPE"] == f"{release}-ledger"
    assert statefulset["spec"]["template"]["spec"]["serviceAccountName"] == f"{release}-ledger"
    assert not any("etcd" in yaml.safe_dump(o).lower() for o in objects)
    claim = statefulset["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "fast"
    assert claim["resources"]["requests"]["storage"] == "20Gi"


def test_patroni_bootstrap_config_carries_the_ledger_settings() -> None:
    """ttl, loop_wait, retry_timeout and synchronous_mode reach Patroni's bootstrap.dcs.
    Not covered: Patroni reading it."""
    release, _, objects = _variant("own-secret")
    (config,) = find(objects, "ConfigMap", f"{release}-ledger-patroni")
    dcs = yaml.safe_load(config["data"]["patroni.yml"])["bootstrap"]["dcs"]
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == (20, 1, 3)
    assert dcs["synchronous_mode"] is False and dcs["synchronous_mode_strict"] is False
    assert dcs["maximum_lag_on_failover"] == 1048576


@pytest.mark.parametrize("variant", VARIANTS["trading-testbed"])
def test_probes_and_metrics_ports_as_in_the_local_cluster(variant: str) -> None:
    """gateway, matcher and marketdata: /healthz (liveness), /readyz (readiness) and /metrics
    on the port named http; the ledger: Patroni's /liveness and /readiness and /metrics on
    the port named patroni (what the controlplane chart's PodMonitor scrapes).
    Not covered: the probes answering."""
    _, _, objects = _variant(variant)
    seen = set()
    for _, container in containers(objects):
        ports = {p["name"] for p in container.get("ports", [])}
        if container["name"] == "patroni":
            assert container["readinessProbe"]["httpGet"] == {"path": "/readiness",
                                                              "port": "patroni"}
            assert {"patroni", "postgres"} <= ports
        elif container["name"] in ("gateway", "matcher", "marketdata"):
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert "http" in ports
        seen.add(container["name"])
    assert seen == {"gateway", "matcher", "marketdata", "patroni", "bootstrap"}


def test_the_slo_rules_jobs_are_the_pods_name_labels() -> None:
    """The generated rules select job="gateway" etc.; the PodMonitor and ServiceMonitor take
    the job from app.kubernetes.io/name, so every job a rule names is a component's name.
    Not covered: a Prometheus scraping."""
    rules = (REPO / "policies" / "generated" / "slo-rules.yml").read_text()
    jobs = set(re.findall(r'job="([^"]+)"', rules))
    _, _, objects = _variant("default")
    names = {o["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
             for o in objects if o["kind"] in ("Deployment", "StatefulSet")}
    assert jobs == names | {"controlplane"}
    monitors = render("controlplane", VARIANTS["controlplane"]["monitoring-on-persistence-off"][2])
    (pod_monitor,) = find(monitors, "PodMonitor")
    assert pod_monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    wanted = pod_monitor["spec"]["selector"]["matchLabels"]
    assert all(o["spec"]["template"]["metadata"]["labels"].items() >= wanted.items()
               for o in objects if o["kind"] in ("Deployment", "StatefulSet"))


def test_gateway_calls_each_matcher_shard_at_its_stable_name() -> None:
    """One matcher URL per StatefulSet ordinal, through the matchers' headless Service;
    `shards` is the replica count; the ledger DSN is the primary Service, without a password
    (PGPASSWORD comes from the Secret).
    Not covered: DNS (no cluster)."""
    release, _, objects = _variant("three-ledger-nodes")
    (config,) = find(objects, "ConfigMap", f"{release}-service-config")
    gateway = json.loads(config["data"]["gateway.json"])
    matcher = json.loads(config["data"]["matcher.json"])
    (statefulset,) = find(objects, "StatefulSet", f"{release}-matcher")
    service = statefulset["spec"]["serviceName"]
    assert find(objects, "Service", service)[0]["spec"]["clusterIP"] == "None"
    assert gateway["matchers"] == [f"http://{release}-matcher-{i}.{service}:8080"
                                   for i in range(4)]
    assert matcher["shards"] == statefulset["spec"]["replicas"] == 4
    assert gateway["ledger_dsn"] == f"postgresql://trader@{release}-ledger:5432/ledger"
    assert gateway["otlp_endpoint"] == "http://cp-controlplane.trading:4318/v1/traces"


def test_tracing_token_comes_from_the_controlplane_secret() -> None:
    """With tracing set, every service gets OTLP_TOKEN from the control plane's credentials
    Secret; by default there is no endpoint and no token.
    Not covered: a span being exported."""
    _, _, objects = _variant("three-ledger-nodes")
    services = [c for _, c in containers(objects) if c["name"] in ("gateway", "matcher",
                                                                  "marketdata")]
    for container in services:
        assert _env(container)["OTLP_TOKEN"] == {"secretKeyRef": {
            "name": "cp-controlplane-credentials", "key": "telemetry-token"}}
    _, _, default = _variant("default")
    (config,) = find(default, "ConfigMap", "tb-service-config")
    assert "otlp_endpoint" not in json.loads(config["data"]["gateway.json"])
    assert all("OTLP_TOKEN" not in _env(c) for _, c in containers(default))


@pytest.mark.parametrize("service", ["gateway", "matcher", "marketdata"])
def test_start_script_writes_a_config_the_service_accepts(service: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """files/start.py, run on the rendered template with a pod's environment, writes a config
    that testbed.config accepts (shard from the ordinal, tokens from the env), then execs the
    service. Not covered: the exec itself (replaced here) and the service starting."""
    _, _, objects = _variant("three-ledger-nodes")
    (config,) = find(objects, "ConfigMap", "staging-service-config")
    template = tmp_path / f"{service}.json"
    template.write_text(config["data"][f"{service}.json"])
    (tmp_path / "trading.yaml").write_text(config["data"]["trading.yaml"])
    data = json.loads(template.read_text())
    data["trading"] = str(tmp_path / "trading.yaml")
    template.write_text(json.dumps(data))
    out = tmp_path / "config.json"
    monkeypatch.setenv("POD_NAME", f"staging-{service}-3")
    monkeypatch.setenv("ADMIN_TOKEN", "a" * 24)
    monkeypatch.setenv("OTLP_TOKEN", "t" * 24)
    monkeypatch.setenv("CONFIG_PATH", str(out))
    monkeypatch.setattr(sys, "argv", ["start.py", service, str(template)])
    execs: list[list[str]] = []
    monkeypatch.setattr(os, "execvp", lambda _file, argv: execs.append(argv))
    runpy.run_path(str(CHARTS / "trading-testbed" / "files" / "start.py"), run_name="__main__")
    assert execs == [[sys.executable, "-m", f"testbed.{service}", "--config", str(out)]]
    loaded = load_service_config(out)
    assert (loaded.instance, loaded.admin_token, loaded.otlp_token) == (
        f"staging-{service}-3", "a" * 24, "t" * 24)
    assert loaded.shard == (3 if service == "matcher" else 0)
    assert out.stat().st_mode & 0o077 == 0
