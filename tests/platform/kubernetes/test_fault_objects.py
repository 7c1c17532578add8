"""The objects the fault controls create (NetworkChaos, NetworkPolicy, StressChaos): their
exact bodies, labels, expiry and `duration`, their removal, and the refusals when the cluster
lacks the engine a fault needs.

What these do not cover: no real Chaos Mesh (no packet is dropped or delayed, no CPU burnt:
the mock stores the objects), no network plugin enforcing NetworkPolicy, no scheduler, no
kubelet. Not end-to-end tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.errors import Unsupported
from controlplane.platform.kubernetes.api import Forbidden
from tests.platform.kubernetes.conftest import Kube
from tests.platform.kubernetes.mockapi import Recorded

CHAOS = "/apis/chaos-mesh.org/v1alpha1/namespaces/default"
NETPOL = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"


def creates(kube: Kube) -> list[Recorded]:
    return [r for r in kube.writes() if r.method == "POST"]


def labels_of(body: dict[str, Any]) -> dict[str, str]:
    return body["metadata"]["labels"]


def pod(kube: Kube, instance_id: str) -> str:
    return kube.platform.info().known(instance_id).handle.removeprefix("pod/")


def test_a_partition_with_chaos_mesh_is_one_networkchaos_per_source(kube: Kube) -> None:
    """block(100%) with Chaos Mesh served: POST networkchaos with action partition from the
    source pod to the destination pods, labelled and with an expiry and a duration. Does not
    cover Chaos Mesh acting on it."""
    rules = kube.platform.network().block("fault-7", ["gateway-0"], ["matcher-0"])
    (sent,) = creates(kube)
    assert sent.path == f"{CHAOS}/networkchaos"
    body = sent.body
    assert body["kind"] == "NetworkChaos" and body["spec"] == {
        "action": "partition", "mode": "all", "direction": "to", "duration": "900s",
        "selector": {"pods": {"default": [pod(kube, "gateway-0")]}},
        "target": {"mode": "all", "selector": {"pods": {"default": [pod(kube, "matcher-0")]}}}}
    assert labels_of(body) == {"app.kubernetes.io/managed-by": "controlplane",
                               "controlplane.io/fault-id": "fault-7",
                               "controlplane.io/run-id": "none",
                               "controlplane.io/cluster": "conformance"}
    assert body["metadata"]["annotations"]["controlplane.io/expires-at"].endswith("Z")
    assert [a["rule"] for a in kube.platform.network().active("fault-7")] == rules
    assert kube.platform.network().unblock("fault-7") == 1
    assert kube.mock.of("chaos-mesh.org", "networkchaos") == []


def test_packet_loss_is_a_networkchaos_loss(kube: Kube) -> None:
    """block(30%): action loss with loss 30. Does not cover a real tc qdisc."""
    kube.platform.network().block("fault-8", ["gateway-0"], ["matcher-0"], percent=30)
    (sent,) = creates(kube)
    assert (sent.body["spec"]["action"], sent.body["spec"]["loss"]) == (
        "loss", {"loss": "30", "correlation": "0"})


def test_without_chaos_mesh_a_partition_of_statefulset_pods_is_a_networkpolicy(
        bare_kube: Kube) -> None:
    """block(100%) between StatefulSet pods without Chaos Mesh: one NetworkPolicy on the
    destination admitting every pod but the source. Does not cover a network plugin
    enforcing it (or existing connections it would not cut)."""
    kube = bare_kube
    kube.platform.network().block("fault-9", ["ledger-0"], ["ledger-1"])
    (sent,) = creates(kube)
    assert sent.path == NETPOL and sent.body["spec"] == {
        "podSelector": {"matchLabels": {
            "statefulset.kubernetes.io/pod-name": "conformance-ledger-1"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchExpressions": [
            {"key": "statefulset.kubernetes.io/pod-name", "operator": "NotIn",
             "values": ["conformance-ledger-0"]}]}}]}]}
    assert labels_of(sent.body)["controlplane.io/fault-id"] == "fault-9"
    assert kube.platform.network().unblock("fault-9") == 1


@pytest.mark.parametrize("sources, percent, says", [
    (["gateway-0"], 100.0, "a partition of a Deployment's pod"),
    (["ledger-0"], 30.0, "dropping 30% of packets")])
def test_without_chaos_mesh_other_packet_faults_are_unsupported_naming_what_to_install(
        bare_kube: Kube, sources: list[str], percent: float, says: str) -> None:
    """Partial loss, or any packet fault on a Deployment's pod, needs Chaos Mesh: Unsupported
    naming the fault and Chaos Mesh; nothing is created."""
    with pytest.raises(Unsupported, match=says) as err:
        bare_kube.platform.network().block("fault-10", sources, ["ledger-1"], percent)
    assert "Chaos Mesh" in str(err.value) and creates(bare_kube) == []


def test_a_link_fault_is_a_networkchaos_per_effect_and_clear_deletes_them(kube: Kube) -> None:
    """Latency plus bandwidth on gateway-0->matcher-0: two NetworkChaos (delay, bandwidth),
    `duration` = the spec's ttl_s; `links()` reads the fault back. Does not cover a real
    tc qdisc."""
    spec = {"latency_ms": 40, "jitter_ms": 5, "bandwidth_kbps": 256, "ttl_s": 61.5}
    kube.platform.links().set_fault("gateway-0->matcher-0", spec)
    sent = creates(kube)
    assert [r.body["spec"]["action"] for r in sent] == ["delay", "bandwidth"]
    assert sent[0].body["spec"]["delay"] == {"latency": "40ms", "jitter": "5ms",
                                             "correlation": "0"}
    assert {r.body["spec"]["duration"] for r in sent} == {"62s"}
    assert {labels_of(r.body)["controlplane.io/fault-id"] for r in sent} == {
        "link.gateway-0.matcher-0"}
    faults = {link["name"]: link["fault"] for link in kube.platform.links().links()}
    assert faults["gateway-0->matcher-0"] == spec
    assert kube.platform.links().clear("gateway-0->matcher-0") is True
    assert kube.mock.of("chaos-mesh.org", "networkchaos") == []


def test_a_link_fault_that_fails_half_way_deletes_what_it_made(kube: Kube) -> None:
    """Latency plus bandwidth is two NetworkChaos; RBAC (the mock) refuses the second create:
    the first is deleted before the 403 is raised, naming the verb and the resource. Does not
    cover a real API server's RBAC."""
    kube.mock.forbid("chaos-mesh.org", "networkchaos", "create", after=1)
    with pytest.raises(Forbidden, match="create on networkchaos.chaos-mesh.org"):
        kube.platform.links().set_fault("gateway-0->matcher-0",
                                        {"latency_ms": 40, "bandwidth_kbps": 256, "ttl_s": 30})
    first, second, delete = kube.writes()
    assert (first.method, second.method, delete.method) == ("POST", "POST", "DELETE")
    assert delete.path == f"{CHAOS}/networkchaos/{first.body['metadata']['name']}"
    assert kube.mock.of("chaos-mesh.org", "networkchaos") == []


def test_a_partition_that_fails_half_way_deletes_what_it_made(kube: Kube) -> None:
    """Two sources are two NetworkChaos; the second create is refused (403): the first is
    deleted. Does not cover a real API server's RBAC."""
    kube.mock.forbid("chaos-mesh.org", "networkchaos", "create", after=1)
    with pytest.raises(Forbidden):
        kube.platform.network().block("fault-11", ["gateway-0", "matcher-0"], ["marketdata-0"])
    assert kube.mock.of("chaos-mesh.org", "networkchaos") == []
    assert kube.platform.network().active("fault-11") == []


def test_cpu_and_memory_stress_are_stresschaos_on_the_pod(kube: Kube) -> None:
    """The CPU burner and memory hog helpers become StressChaos with `duration` from the
    helper's; `helpers` lists them and `stop_helpers` deletes them. Does not cover real
    stress-ng in the pod, nor its usage (reported 0)."""
    res = kube.platform.resources()
    res.spawn_helper("fault-12", "matcher-0", ["python", "-m", "controlplane.chaos.helpers.burn",
                                               "--cores", "1.5", "--duration", "20"])
    res.spawn_helper("fault-12", "matcher-0", ["python", "-m",
                                               "controlplane.chaos.helpers.memhog",
                                               "--megabytes", "128", "--duration", "20"])
    cpu, mem = creates(kube)
    assert cpu.path == f"{CHAOS}/stresschaos"
    assert cpu.body["spec"]["stressors"] == {"cpu": {"workers": 2, "load": 75}}
    assert mem.body["spec"]["stressors"] == {"memory": {"workers": 1, "size": "128MB"}}
    assert cpu.body["spec"]["duration"] == "20s"
    assert len(res.helpers("fault-12")) == 2 and res.helper_usage("fault-12")["count"] == 2
    assert res.stop_helpers("fault-12") == 2 and res.helpers("fault-12") == []


@pytest.mark.parametrize("call, says", [
    (lambda k: k.platform.links().set_fault("gateway-0->matcher-0",
                                             {"latency_ms": 5, "ttl_s": 5}), "link faults"),
    (lambda k: k.platform.resources().spawn_helper(
        "fault-13", "matcher-0", ["controlplane.chaos.helpers.burn", "--cores", "1"]),
     "CPU and memory stress")])
def test_without_chaos_mesh_link_faults_and_stress_are_unsupported(
        bare_kube: Kube, call: Any, says: str) -> None:
    """A missing CRD (Chaos Mesh not served): Unsupported naming the fault and what to
    install; nothing is created."""
    with pytest.raises(Unsupported, match=says) as err:
        call(bare_kube)
    assert "install Chaos Mesh" in str(err.value) and creates(bare_kube) == []


@pytest.mark.parametrize("call, says", [
    (lambda p: p.freeze("gateway-0"), "freezing an instance"),
    (lambda p: p.resources().set_cpu_limit("gateway-0", 0.5), "capping an instance's CPU"),
    (lambda p: p.resources().fill_disk("fault-14", "ledger-0", 10), "filling"),
    (lambda p: p.links().set_fault("gateway-0->matcher-0", {"reset": True, "ttl_s": 5}),
     "connection resets")])
def test_what_kubernetes_cannot_do_is_unsupported_saying_why(
        kube: Kube, call: Any, says: str) -> None:
    """Freeze, CPU caps, disk fills and link resets: Unsupported with the reason; nothing is
    sent but reads."""
    with pytest.raises(Unsupported, match=says) as err:
        call(kube.platform)
    assert err.value.hint and kube.writes() == []
