"""Every chart lints, renders for its default values and two variants, and every rendered
object validates against the Kubernetes schemas of two versions (strict: unknown fields fail).

Not covered: nothing is installed on a cluster. No API server admits these objects (no
admission webhooks, quotas or Pod Security admission), no scheduler places the pods, no
kubelet runs them, and the Prometheus Operator kinds are checked against our own small schema
(tests/charts/rendering.py), not the operator's CRDs.
"""

from __future__ import annotations

import copy

import helm_python
import jsonschema
import kubernetes_validate
import pytest

from tests.charts.rendering import CHARTS, KUBE_VERSIONS, VARIANTS, find, render, validate

CASES = [(chart, variant) for chart, variants in VARIANTS.items() for variant in variants]


@pytest.mark.parametrize(("chart", "variant"), CASES)
def test_lint_reports_no_warning_or_error(chart: str, variant: str) -> None:
    """helm lint (strict: warnings count) passes; an INFO such as "icon is recommended" is
    allowed. Not covered: lint does not contact a cluster."""
    _, namespace, values = VARIANTS[chart][variant]
    report = helm_python.lint(CHARTS / chart, values, strict=True, namespace=namespace,
                              kube_version="v" + KUBE_VERSIONS[0])
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize(("chart", "variant"), CASES)
def test_every_object_validates(chart: str, variant: str, kube_version: str) -> None:
    """Each rendered object passes kubernetes-validate strict for the version (the Prometheus
    Operator kinds: our small schema). Not covered: admission by a real API server."""
    name, namespace, values = VARIANTS[chart][variant]
    objects = render(chart, values, name=name, namespace=namespace)
    assert objects
    for obj in objects:
        validate(obj, kube_version)


def test_strict_validation_is_not_vacuous() -> None:
    """A typo'd field in a rendered Deployment, and one in a PrometheusRule, are rejected, so
    the validation above would catch one. Not covered: the operator's own CRD schema."""
    objects = render("controlplane", VARIANTS["controlplane"]["monitoring-on-persistence-off"][2])
    deployment = copy.deepcopy(find(objects, "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpget"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="httpget"):
        validate(deployment, KUBE_VERSIONS[0])
    rule = copy.deepcopy(find(objects, "PrometheusRule")[0])
    rule["spec"]["group"] = rule["spec"].pop("groups")
    with pytest.raises(jsonschema.ValidationError):
        validate(rule, KUBE_VERSIONS[0])


@pytest.mark.parametrize(("chart", "variant"), CASES)
def test_every_object_carries_the_labels_the_platform_expects(chart: str, variant: str) -> None:
    """app.kubernetes.io/name, /instance (the release) and /component on every object and on
    every pod template; every namespaced object in the release namespace. Not covered: what
    the platform does with them (its own tests)."""
    name, namespace, values = VARIANTS[chart][variant]
    for obj in render(chart, values, name=name, namespace=namespace):
        templates = [obj["metadata"]]
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            templates.append(obj["spec"]["template"]["metadata"])
        for meta in templates:
            labels = meta["labels"]
            assert labels["app.kubernetes.io/instance"] == name, obj["metadata"]["name"]
            assert labels["app.kubernetes.io/name"] and labels["app.kubernetes.io/component"]
        assert obj["metadata"]["namespace"] == namespace, obj["metadata"]["name"]


@pytest.mark.parametrize(("chart", "variant"), CASES)
def test_every_container_has_probes_or_is_a_run_to_completion_job(chart: str,
                                                                    variant: str) -> None:
    """Long-running containers have liveness and readiness probes; Jobs (Locust, the ledger
    bootstrap) run to completion and need none. Every container drops all capabilities and
    runs as non-root. Not covered: whether the probes answer (no kubelet here)."""
    name, namespace, values = VARIANTS[chart][variant]
    for obj in render(chart, values, name=name, namespace=namespace):
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        spec = obj["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        for container in spec["containers"]:
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            if obj["kind"] != "Job":
                assert "livenessProbe" in container and "readinessProbe" in container, \
                    obj["metadata"]["name"]
