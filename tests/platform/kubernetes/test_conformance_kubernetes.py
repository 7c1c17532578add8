"""The platform conformance suite (tests/platform/conformance.py) on the Kubernetes platform:
the real `kubernetes` client against the mock API server on loopback (`mockapi`), whose
small controller simulation recreates deleted pods and follows scale changes.

What this does not cover: no scheduler, no kubelet, no nodes, no real network (NetworkChaos and
NetworkPolicy objects are stored, nothing is enforced), no real Chaos Mesh, no grace periods.
These are not end-to-end tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controlplane.platform import Platform, load_platform
from tests.platform.conformance import PlatformConformance, conformance_topology, tiny_topology
from tests.platform.kubernetes.mockapi import MockCluster
from tests.platform.kubernetes.support import admin_token, install, on_mock


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    directory = tmp_path_factory.mktemp("k8s-conformance")
    with MockCluster() as mock, admin_token():
        topology = on_mock(conformance_topology("kubernetes"), mock.url, directory)
        install(mock, topology)
        kube = load_platform(topology, directory / "ws")
        kube.up(topology, timeout=30)
        yield kube
        kube.down(purge=True)


@pytest.fixture()
def new_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[Callable[[], Platform]]:
    """Platforms whose `up` gets a topology without a `kubernetes:` block, so they connect as
    the client does by default: through $KUBECONFIG."""
    made: list[Platform] = []
    with MockCluster() as mock:
        def make() -> Platform:
            topology = on_mock(tiny_topology("kubernetes"), mock.url, tmp_path)
            monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
            install(mock, topology)
            made.append(load_platform(topology, tmp_path / f"ws{len(made)}"))
            return made[-1]
        yield make
        for platform in made:
            platform.down(purge=True)


class TestKubernetesConformance(PlatformConformance):
    UNSUPPORTED = frozenset({"freezing", "scaling the ledger", "a ledger DSN",
                             "a ledger node's DSN"})
    FENCED_STAYS_DOWN = False      # the workload's controller recreates a deleted pod
