"""The exact requests each action sends to the API server (method, path, query, body), with
the real `kubernetes` client against the mock API server.

What these do not cover: no scheduler, no kubelet, no nodes, no real network, no real Chaos
Mesh; the mock's controller simulation (pods recreated at once, scale followed at once) stands
in for the StatefulSet and ReplicaSet controllers. Not end-to-end tests.
"""

from __future__ import annotations

import pytest

from controlplane.errors import Refused, Unsupported
from tests.platform.kubernetes.conftest import Kube
from tests.platform.kubernetes.mockapi import Recorded

NS = "/namespaces/default"
PODS = f"/api/v1{NS}/pods"
APPS = f"/apis/apps/v1{NS}"
CHAOS = f"/apis/chaos-mesh.org/v1alpha1{NS}"
MERGE = "application/merge-patch+json"


def pod_name(kube: Kube, instance_id: str) -> str:
    return kube.platform.info().known(instance_id).handle.removeprefix("pod/")


def scale_patch(path: str, replicas: int) -> Recorded:
    return Recorded("PATCH", f"{APPS}/{path}/scale", {}, {"spec": {"replicas": replicas}},
                    MERGE)


def test_kill_deletes_the_pod_with_grace_period_0_and_a_new_pod_takes_its_place(
        kube: Kube) -> None:
    """Kill: one DELETE of the pod with gracePeriodSeconds=0; the mock's controller makes a
    new pod, a new incarnation. Does not cover a kubelet killing a container."""
    before = kube.platform.info().known("ledger-1")
    kube.forget()
    after = kube.platform.kill("ledger-1")
    assert [(r.method, r.path, r.query, r.body) for r in kube.writes()] == [
        ("DELETE", f"{PODS}/conformance-ledger-1", {"gracePeriodSeconds": "0"}, None)]
    assert after.incarnation != before.incarnation and after.restarts == before.restarts + 1
    assert kube.platform.confirm_dead("ledger-1", before.incarnation).dead


def test_a_graceful_kill_leaves_the_pod_its_own_grace_period(kube: Kube) -> None:
    """Graceful kill: the DELETE carries no grace period (the pod's own applies). Does not
    cover a real SIGTERM."""
    name = pod_name(kube, "gateway-0")
    kube.forget()
    kube.platform.kill("gateway-0", graceful=True)
    assert [(r.method, r.path, r.query) for r in kube.writes()] == [
        ("DELETE", f"{PODS}/{name}", {})]


def test_stop_scales_a_statefulset_to_its_highest_ordinal_and_start_back(kube: Kube) -> None:
    """Stop of the highest ordinal patches the scale subresource to that ordinal; start
    patches it back. Does not cover PVC retention or a real StatefulSet controller."""
    kube.forget()
    stopped = kube.platform.stop("ledger-1")
    assert (stopped.state, stopped.running) == ("stopped", False)
    kube.platform.start("ledger-1")
    assert kube.writes() == [scale_patch("statefulsets/conformance-ledger", 1),
                             scale_patch("statefulsets/conformance-ledger", 2)]
    assert kube.platform.info().known("ledger-1").running


def test_stop_of_a_lower_ordinal_is_refused_naming_why_and_sends_nothing(kube: Kube) -> None:
    """Stop of ordinal 0 of 2 is Refused (only the highest ordinal can be scaled away); no
    write is sent. Does not cover a real StatefulSet."""
    kube.forget()
    with pytest.raises(Refused, match="only the highest ordinal") as err:
        kube.platform.stop("ledger-0")
    assert "ledger-1" in str(err.value) and kube.writes() == []


def test_stop_of_one_of_several_deployment_pods_is_refused(kube: Kube) -> None:
    """A Deployment's ReplicaSet picks which pod a scale-down removes, so stopping one of
    several is Refused. Does not cover a real ReplicaSet controller."""
    kube.platform.scale("gateway")
    kube.forget()
    with pytest.raises(Refused, match="ReplicaSet picks"):
        kube.platform.stop("gateway-0")
    assert kube.writes() == []


def test_scale_and_scale_in_patch_the_deployment_scale_subresource(kube: Kube) -> None:
    """Scale out and in: one PATCH of deployments/<name>/scale each. Does not cover a real
    ReplicaSet (which pod goes on a scale-in)."""
    kube.forget()
    added = kube.platform.scale("marketdata")
    removed = kube.platform.scale_in("marketdata")
    assert kube.writes() == [scale_patch("deployments/conformance-marketdata", 2),
                             scale_patch("deployments/conformance-marketdata", 1)]
    assert (added.id, removed.id, removed.running) == ("marketdata-1", "marketdata-1", False)


def test_scaling_the_matcher_is_unsupported_naming_why(kube: Kube) -> None:
    """The matcher's symbols do not move on Kubernetes: Unsupported, nothing sent."""
    kube.forget()
    with pytest.raises(Unsupported, match="scaling matcher"):
        kube.platform.scale("matcher")
    assert kube.writes() == []


def test_fence_deletes_with_grace_0_and_waits_until_the_pod_is_gone(kube: Kube) -> None:
    """Fence: DELETE with grace 0, then GETs of the pod until its uid is gone. Does not cover
    a pod on a lost node, which no API call can fence."""
    before = kube.platform.info().known("ledger-0")
    kube.forget()
    kube.platform.fence("ledger-0")
    assert [(r.method, r.path, r.query) for r in kube.writes()] == [
        ("DELETE", f"{PODS}/conformance-ledger-0", {"gracePeriodSeconds": "0"})]
    reads = [(r.method, r.path) for r in kube.mock.requests]
    assert ("GET", f"{PODS}/conformance-ledger-0") in reads
    assert kube.platform.confirm_dead("ledger-0", before.incarnation).dead


def test_confirm_dead_cannot_see_a_lost_node_a_running_pod_is_never_dead(kube: Kube) -> None:
    """A pod on a node the API server lost keeps phase Running (its Ready condition goes
    Unknown): confirm_dead says not dead. Models the node loss by editing the pod in the mock;
    does not cover a real node controller."""
    with kube.mock.lock:
        pod = kube.mock.objects[("", "pods", "default", "conformance-ledger-0")]
        pod["status"]["conditions"] = [{"type": "Ready", "status": "Unknown",
                                        "reason": "NodeStatusUnknown"}]
    check = kube.platform.confirm_dead("ledger-0")
    assert not check.dead and "Running" in check.detail
    assert not kube.platform.health("ledger-0").ready


def test_the_ledger_roles_come_from_patronis_labels_and_sync_configmap(kube: Kube) -> None:
    """Roles: the pod label role=primary/replica, the sync standby from the annotation of the
    Patroni scope's ConfigMap `conformance-ledger-sync`. Does not cover a real Patroni."""
    roles = {i.id: i.health.role for i in kube.platform.instances("ledger")}
    assert roles == {"ledger-0": "primary", "ledger-1": "sync_standby"}
    with kube.mock.lock:
        kube.mock.objects[("", "pods", "default", "conformance-ledger-0")]["metadata"]["labels"][
            "role"] = "master"                           # Patroni before 3.0
    assert kube.platform.health("ledger-0").role == "primary"


def test_a_service_fault_goes_to_the_pods_own_admin_api_not_the_api_server(
        kube: Kube) -> None:
    """Service faults: PUT/GET/DELETE /admin/faults straight to the pod's http port with the
    admin token; nothing is sent to the API server but reads. Does not cover a real service
    or pod network."""
    kube.forget()
    faults = kube.platform.service_faults()
    faults.set_fault("matcher-0", {"error_rate": 0.2, "ttl_s": 30})
    assert faults.fault("matcher-0") == {"error_rate": 0.2, "ttl_s": 30}
    assert faults.clear("matcher-0") is True
    admin = kube.mock.admin_of(pod_name(kube, "matcher-0"))
    assert [(m, p, a) for m, p, a in admin.calls] == [
        ("PUT", "/admin/faults", "Bearer test-admin"), ("GET", "/admin/faults",
                                                       "Bearer test-admin"),
        ("DELETE", "/admin/faults", "Bearer test-admin")]
    assert kube.writes() == []
