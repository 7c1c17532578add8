"""The controlplane chart's Role grants exactly what the Kubernetes platform calls
(`controlplane.platform.kubernetes.rbac.RULES`), and no chart grants anything cluster-wide,
a cluster-wide delete, or a read of Secrets.

Not covered: nothing is installed on a cluster, so no API server authorises a request here;
that the platform calls only what RULES lists is the platform's own test (against the
loopback mock API in mockapi.py).
"""

from __future__ import annotations

import pytest

from controlplane.platform.kubernetes.rbac import RULES
from tests.charts.rendering import VARIANTS, find, render

CASES = [(chart, variant) for chart, variants in VARIANTS.items() for variant in variants]
CLUSTER_KINDS = {"ClusterRole", "ClusterRoleBinding", "Namespace", "CustomResourceDefinition"}
READS = {"get", "list", "watch", "*"}


def _roles(chart: str, variant: str) -> list[dict]:
    name, namespace, values = VARIANTS[chart][variant]
    return find(render(chart, values, name=name, namespace=namespace), "Role")


@pytest.mark.parametrize("variant", VARIANTS["controlplane"])
def test_the_role_holds_exactly_the_platforms_rules(variant: str) -> None:
    """Same list, same order, as the platform's table; bound to the chart's ServiceAccount.
    Not covered: an API server authorising a call."""
    name, namespace, values = VARIANTS["controlplane"][variant]
    objects = render("controlplane", values, name=name, namespace=namespace)
    (role,) = find(objects, "Role")
    assert role["rules"] == RULES
    (binding,) = find(objects, "RoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    account = values.get("serviceAccount", {}).get("name") or role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account,
                                    "namespace": namespace}]
    (deployment,) = find(objects, "Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == account


def test_rbac_off_renders_no_role() -> None:
    """rbac.create=false: the operator brings their own Role.
    Not covered: the Role an operator brings instead."""
    objects = render("controlplane", {"rbac": {"create": False}})
    assert find(objects, "Role") == [] and find(objects, "RoleBinding") == []


@pytest.mark.parametrize(("chart", "variant"), CASES)
def test_nothing_cluster_wide(chart: str, variant: str) -> None:
    """No ClusterRole or ClusterRoleBinding (so no cluster-wide delete), no Namespace or CRD;
    every Role and RoleBinding is in the release namespace.
    Not covered: what other charts on the cluster grant."""
    name, namespace, values = VARIANTS[chart][variant]
    objects = render(chart, values, name=name, namespace=namespace)
    assert {o["kind"] for o in objects} & CLUSTER_KINDS == set()
    for obj in find(objects, "Role") + find(objects, "RoleBinding"):
        assert obj["metadata"]["namespace"] == namespace


@pytest.mark.parametrize(("chart", "variant"), CASES)
def test_no_role_reads_secrets_or_uses_wildcards(chart: str, variant: str) -> None:
    """No rule names secrets (or "*") with a read verb, and no rule has a wildcard verb,
    resource or group (the ledger's Patroni Role included).
    Not covered: the kubelet's own reads (mounts)."""
    for role in _roles(chart, variant):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
            if {"secrets", "*"} & set(rule["resources"]):
                assert not READS & set(rule["verbs"]), rule


def test_patroni_role_is_what_patroni_calls_in_configmap_mode() -> None:
    """The ledger's Role: the leader/config ConfigMaps and its own pod's role label; nothing
    on endpoints (ConfigMap mode), nothing deleted. Not covered: Patroni running against a real
    API server."""
    (role,) = _roles("trading-testbed", "default")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"],
         "verbs": ["get", "list", "watch", "create", "patch", "update"]},
        {"apiGroups": [""], "resources": ["pods"],
         "verbs": ["get", "list", "watch", "patch", "update"]},
    ]
