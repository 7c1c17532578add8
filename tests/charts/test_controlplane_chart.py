"""The controlplane chart: `controlplane serve` with flags it really has, the store on a
PersistentVolumeClaim, the project's runbooks, policies and experiments as ConfigMaps that
put every file back at its path, and the generated SLO rules as a PrometheusRule.

Not covered: nothing is installed on a cluster; the service does not start here, and no
Prometheus Operator picks up the monitoring objects.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from controlplane.cli.serve import serve
from tests.charts.rendering import CHARTS, VARIANTS, find, render

REPO = CHARTS.parent
GLOBS = {"runbooks": ["*.yaml"], "policies": ["**/*.yaml", "**/*.yml"],
         "experiments": ["**/*.json"]}
CONFIGMAP_LIMIT = 1024 * 1024          # what the API server takes in one ConfigMap


def _objects(variant: str) -> list[dict]:
    name, namespace, values = VARIANTS["controlplane"][variant]
    return render("controlplane", values, name=name, namespace=namespace)


def _container(objects: list[dict]) -> dict:
    (deployment,) = find(objects, "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_serve_flags_parse_with_the_real_command() -> None:
    """The container's args are parsed by `controlplane serve`'s own click command, so a flag
    it lacks fails here; the state dir is the volume and the credentials the Secret's file.
    Not covered: the service starting with them (no pod runs)."""
    for variant in VARIANTS["controlplane"]:
        container = _container(_objects(variant))
        assert container["command"] == ["controlplane"] and container["args"][0] == "serve"
        params = serve.make_context("serve", list(container["args"][1:])).params
        assert params["host"] == "0.0.0.0" and params["port"] == 4318
        assert str(params["state_dir"]) == "/var/lib/controlplane"
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert str(params["credentials_file"].parent) in mounts
        assert str(params["state_dir"]) in mounts


def test_the_store_is_a_claim_or_an_empty_dir() -> None:
    """persistence on: a PVC kept on uninstall; off: an emptyDir and no PVC.
    Not covered: a volume binding (no storage provisioner here)."""
    on, off = _objects("default"), _objects("monitoring-on-persistence-off")
    (claim,) = find(on, "PersistentVolumeClaim")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    volumes = {v["name"]: v for v in find(on, "Deployment")[0]["spec"]["template"]["spec"]
               ["volumes"]}
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert find(off, "PersistentVolumeClaim") == []
    volumes = {v["name"]: v for v in find(off, "Deployment")[0]["spec"]["template"]["spec"]
               ["volumes"]}
    assert volumes["state"] == {"name": "state", "emptyDir": {}}


def test_project_configmaps_hold_every_file_at_its_path() -> None:
    """Each of runbooks/, policies/ and experiments/ is a ConfigMap under the API server's
    1 MiB; the volume's items put every file of the folder back at its relative path under
    /project/<folder>, byte for byte.
    Not covered: the kubelet mounting them."""
    objects = _objects("default")
    volumes = {v["name"]: v for v in find(objects, "Deployment")[0]["spec"]["template"]["spec"]
               ["volumes"]}
    env = {e["name"]: e.get("value") for e in _container(objects)["env"]}
    assert env["CONTROLPLANE_PROJECT"] == "/project"
    for folder, globs in GLOBS.items():
        (configmap,) = find(objects, "ConfigMap", f"cp-controlplane-{folder}")
        data = configmap["data"]
        assert len(json.dumps(data).encode()) < CONFIGMAP_LIMIT
        items = {i["path"]: data[i["key"]] for i in volumes[folder]["configMap"]["items"]}
        files = {str(p.relative_to(REPO / folder)): p.read_text(encoding="utf-8")
                 for glob in globs for p in (REPO / folder).glob(glob)}
        assert files and items == files, folder


def test_prometheus_rule_is_the_generated_slo_rules() -> None:
    """The PrometheusRule's groups are policies/generated/slo-rules.yml's, unchanged; the
    ServiceMonitor authenticates with the scrape token that the chart's Secret holds.
    Not covered: an operator loading them, promtool."""
    objects = _objects("monitoring-on-persistence-off")
    (rule,) = find(objects, "PrometheusRule")
    generated = yaml.safe_load((REPO / "policies/generated/slo-rules.yml").read_text())
    assert rule["spec"]["groups"] == generated["groups"]
    assert rule["metadata"]["labels"]["release"] == "kps"
    (monitor,) = find(objects, "ServiceMonitor")
    credentials = monitor["spec"]["endpoints"][0]["authorization"]["credentials"]
    (secret,) = find(objects, "Secret", credentials["name"])
    assert credentials["key"] in secret["stringData"]
    machines = json.loads(secret["stringData"]["credentials.json"])
    assert machines["scrape"] == {"role": "scraper",
                                  "token": secret["stringData"]["scrape-token"]}
    assert {m["role"] for m in machines.values()} == {"alert-intake", "telemetry", "scraper",
                                                      "admin"}


def test_monitoring_is_off_by_default_and_an_existing_secret_is_used() -> None:
    """No Prometheus Operator kind by default (a cluster without its CRDs installs cleanly);
    credentials.existingSecret: no Secret rendered, the Deployment mounts the named one;
    adminToken: the testbed's admin token in CONTROLPLANE_ADMIN_TOKEN (optional).
    Not covered: the Secret existing."""
    assert {o["kind"] for o in _objects("default")} & {
        "PrometheusRule", "ServiceMonitor", "PodMonitor"} == set()
    objects = _objects("own-secret-no-project-files")
    assert find(objects, "Secret") == [] and find(objects, "ConfigMap") == []
    volumes = {v["name"]: v for v in find(objects, "Deployment")[0]["spec"]["template"]["spec"]
               ["volumes"]}
    assert volumes["credentials"]["secret"]["secretName"] == "cp-machine-tokens"
    env = {e["name"]: e for e in _container(objects)["env"]}
    assert env["CONTROLPLANE_ADMIN_TOKEN"]["valueFrom"] == {"secretKeyRef": {
        "name": "tb-trading-testbed", "key": "admin-token", "optional": True}}
    assert "CONTROLPLANE_ADMIN_TOKEN" not in {e["name"] for e in
                                              _container(_objects("default"))["env"]}
    args = _container(objects)["args"]
    assert "--forward-otlp=http://otel:4318/v1/traces" in args
    assert not any(a.startswith("--runbooks") for a in args)


def test_chart_files_are_links_to_the_project_folders() -> None:
    """The chart carries the folders as symlinks (Helm follows them), so it cannot drift
    from what users edit.
    Not covered: a checkout without symlinks."""
    files = CHARTS / "controlplane" / "files"
    for folder in GLOBS:
        assert (files / folder).is_symlink()
        assert (files / folder).resolve() == (REPO / folder).resolve()
    assert Path(CHARTS / "locust" / "files" / "loadtests").resolve() == REPO / "loadtests"
