"""Fixtures: a fresh mock API server holding the conformance topology's workloads, and the
Kubernetes platform up on it (see `mockapi` for what the mock does and does not do)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controlplane.platform import load_platform
from controlplane.platform.kubernetes import KubernetesPlatform
from controlplane.topology import Topology
from tests.platform.conformance import conformance_topology
from tests.platform.kubernetes.mockapi import MockCluster, Recorded
from tests.platform.kubernetes.support import admin_token, install, on_mock


@dataclass
class Kube:
    mock: MockCluster
    platform: KubernetesPlatform
    topology: Topology
    directory: Path

    def writes(self) -> list[Recorded]:
        """The requests since the last `forget` that change something (not GET)."""
        return [r for r in self.mock.requests if r.method != "GET"]

    def forget(self) -> None:
        self.mock.clear_requests()


def start(tmp_path: Path, *, chaos_mesh: bool = True) -> Iterator[Kube]:
    with MockCluster(chaos_mesh=chaos_mesh) as mock, admin_token():
        topology = on_mock(conformance_topology("kubernetes"), mock.url, tmp_path)
        install(mock, topology)
        platform = load_platform(topology, tmp_path / "ws")
        assert isinstance(platform, KubernetesPlatform)
        platform.poll_s = 0.01
        platform.up(topology, timeout=30)
        mock.clear_requests()
        yield Kube(mock, platform, topology, tmp_path)
        platform.close()


@pytest.fixture()
def kube(tmp_path: Path) -> Iterator[Kube]:
    """The conformance topology up on a mock API server that serves Chaos Mesh's CRDs."""
    yield from start(tmp_path)


@pytest.fixture()
def bare_kube(tmp_path: Path) -> Iterator[Kube]:
    """The same on a mock API server without Chaos Mesh."""
    yield from start(tmp_path, chaos_mesh=False)
