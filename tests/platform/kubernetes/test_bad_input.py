"""Bad settings and refusals from the cluster, each a clear error of our own classes (which the
CLI turns into a message and a non-zero exit), never a traceback: a missing kubeconfig, an
unreachable API server, a wrong context or namespace, a 403 from RBAC, a missing CRD.

What these do not cover: no real API server, RBAC or authentication (the mock answers 403
when told to), no TLS. Not end-to-end tests.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from controlplane.errors import InvalidInput, Unreachable, Unsupported
from controlplane.platform import load_platform
from controlplane.platform.kubernetes.api import Forbidden
from tests.platform.conformance import conformance_topology
from tests.platform.kubernetes.conftest import Kube
from tests.platform.kubernetes.mockapi import MockCluster, kubeconfig
from tests.platform.kubernetes.support import install, on_mock

REPO = Path(__file__).resolve().parents[3]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "controlplane", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def test_a_missing_kubeconfig_is_invalid_input_naming_the_path(tmp_path: Path) -> None:
    """No file at kubernetes.kubeconfig: InvalidInput naming the field and the path."""
    with MockCluster() as mock:
        topology = on_mock(conformance_topology("kubernetes"), mock.url, tmp_path,
                           kubeconfig=str(tmp_path / "nowhere"))
        with pytest.raises(InvalidInput, match="kubernetes.kubeconfig") as err:
            load_platform(topology, tmp_path / "ws").up(topology)
    assert str(tmp_path / "nowhere") in str(err.value)


def test_an_unreachable_api_server_is_unreachable(tmp_path: Path) -> None:
    """A kubeconfig whose server does not answer (a closed loopback port): Unreachable,
    saying to check the server address. Does not cover timeouts of a silent server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]           # closed again when the block ends
    topology = on_mock(conformance_topology("kubernetes"), f"http://127.0.0.1:{port}",
                       tmp_path)
    with pytest.raises(Unreachable, match="did not answer"):
        load_platform(topology, tmp_path / "ws").up(topology)


def test_a_context_the_kubeconfig_lacks_is_invalid_input_listing_the_ones_it_has(
        tmp_path: Path) -> None:
    """kubernetes.context names no context of the file: InvalidInput listing `mock`."""
    with MockCluster() as mock:
        topology = on_mock(conformance_topology("kubernetes"), mock.url, tmp_path,
                           context="prod-eu")
        with pytest.raises(InvalidInput, match="kubernetes.context") as err:
            load_platform(topology, tmp_path / "ws").up(topology)
    assert "'prod-eu'" in str(err.value) and "Use one of: mock" in str(err.value)


def test_a_namespace_without_the_workloads_is_invalid_input_naming_it(tmp_path: Path) -> None:
    """The charts are installed in `default`, the topology says `trading`: InvalidInput
    naming the namespace and what to set. Does not cover a namespace that does not exist
    (the API server answers the same 404)."""
    with MockCluster() as mock:
        install(mock, conformance_topology("kubernetes"))
        topology = on_mock(conformance_topology("kubernetes"), mock.url, tmp_path,
                           namespace="trading")
        with pytest.raises(InvalidInput, match="kubernetes.namespace") as err:
            load_platform(topology, tmp_path / "ws").up(topology)
    assert "'trading'" in str(err.value) and "StatefulSet 'conformance-etcd'" in str(err.value)


def test_a_403_names_the_verb_the_resource_and_the_role(kube: Kube) -> None:
    """RBAC refuses listing pods: Forbidden (a Refused, exit 2) naming `list`, `pods`, the
    namespace and the controlplane chart's Role."""
    kube.mock.forbid("", "pods", "list")
    with pytest.raises(Forbidden) as err:
        kube.platform.info()
    text = str(err.value)
    assert "refused list on pods in namespace 'default' (403 Forbidden)" in text
    assert "Role of the controlplane chart" in text and err.value.exit_code == 2


def test_a_missing_crd_is_unsupported_naming_the_fault_and_what_to_install(
        bare_kube: Kube) -> None:
    """Chaos Mesh's group is not served: a link fault is Unsupported naming it."""
    with pytest.raises(Unsupported, match="link faults.*install Chaos Mesh"):
        bare_kube.platform.links().set_fault("gateway-0->matcher-0",
                                             {"latency_ms": 5, "ttl_s": 5})


def test_cluster_status_through_the_cli_lists_the_pods_and_a_403_exits_2(kube: Kube) -> None:
    """`controlplane cluster status` on the workspace the platform recorded (application layer,
    CLI door) against the mock: the instances with their pods; with pods forbidden, exit 2
    with the 403's message and no traceback. Does not cover a real cluster."""
    ws = str(kube.platform.workspace.root)
    ok = _cli("cluster", "status", "--state-dir", ws, "--json")
    assert ok.returncode == 0, ok.stderr
    assert '"handle": "pod/conformance-ledger-0"' in ok.stdout and '"role": "primary"' in ok.stdout
    kube.mock.forbid("", "pods", "list")
    refused = _cli("cluster", "status", "--state-dir", ws)
    assert refused.returncode == 2, refused.stderr
    assert "list on pods" in refused.stderr and "Traceback" not in refused.stderr


def test_without_a_namespace_the_kubeconfig_contexts_namespace_is_used(tmp_path: Path) -> None:
    """No kubernetes.namespace: the context's namespace (`trading` here) is where the platform
    looks, as kubectl would; the workloads are in `default`, so it says so naming `trading`."""
    with MockCluster() as mock:
        install(mock, conformance_topology("kubernetes"))
        topology = on_mock(conformance_topology("kubernetes"), mock.url, tmp_path)
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(
            kubeconfig(mock.url, namespace="trading")))
        unset = topology.model_copy(update={"kubernetes": topology.kubernetes.model_copy(
            update={"namespace": None})})
        with pytest.raises(InvalidInput, match="in namespace 'trading'"):
            load_platform(unset, tmp_path / "ws").up(unset)
