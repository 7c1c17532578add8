"""Test support for the Kubernetes platform: a mock API server holding the workloads a
topology names (as the project's charts would install them), a kubeconfig for it, and the
topology with its `kubernetes:` block pointing there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from controlplane.topology import Topology, parse_topology
from tests.platform.kubernetes.mockapi import MockCluster, kubeconfig

__all__ = ["ADMIN_ENV", "TOKEN", "admin_token", "install", "on_mock"]

ADMIN_ENV, TOKEN = "CONTROLPLANE_TEST_K8S_ADMIN", "test-admin"
STATEFUL = ("ledger", "etcd")


def install(mock: MockCluster, topology: Topology, namespace: str = "default") -> None:
    """What the charts would install for `topology`: one workload per component, named
    `<release>-<component>` (the release: the topology's name)."""
    for name, svc in topology.services.items():
        kind = "StatefulSet" if svc.kind in STATEFUL else "Deployment"
        mock.add_workload(kind, f"{topology.name}-{name}", component=name,
                          release=topology.name,
                          replicas=svc.instances, service_kind=svc.kind, namespace=namespace)


def on_mock(topology: Topology, url: str, directory: Path,
            namespace: str = "default", **settings: object) -> Topology:
    """`topology` on platform kubernetes, a kubeconfig for the API server at `url` written in
    `directory`."""
    path = directory / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig(url)))
    data = topology.model_dump(mode="json")
    data.update(platform="kubernetes", kubernetes={
        "kubeconfig": str(path), "namespace": namespace, "admin_token_env": ADMIN_ENV,
        **settings})
    return parse_topology(data, "the test topology")


@contextmanager
def admin_token() -> Iterator[None]:
    """The services' admin token in the environment, as the controlplane chart sets it."""
    before = os.environ.get(ADMIN_ENV)
    os.environ[ADMIN_ENV] = TOKEN
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ADMIN_ENV, None)
        else:
            os.environ[ADMIN_ENV] = before
