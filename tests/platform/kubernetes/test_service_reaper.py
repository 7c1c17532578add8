"""The control-plane service runs the fault reaper for a Kubernetes workspace (no supervisor
does there): an expired object the platform made is deleted without anyone asking.

What this does not cover: no real service deployment, no real Chaos Mesh, no scheduler, no
kubelet. Not an end-to-end test.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from controlplane.platform.kubernetes.objects import FAULT, MANAGED, rfc3339
from controlplane.server.app import _start_reaper
from tests.platform.kubernetes.conftest import Kube
from tests.support.net import wait_for


def test_the_service_reaper_deletes_an_expired_object(kube: Kube) -> None:
    """An expired NetworkChaos labelled as the platform labels its objects (as if left by a
    runner long gone) is gone after the service's reaper ran; the reaper stops with the
    service."""
    with kube.mock.lock:
        kube.mock.objects[("chaos-mesh.org", "networkchaos", "default", "cp-old")] = {
            "apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
            "metadata": {"name": "cp-old", "namespace": "default",
                         "labels": {**MANAGED, FAULT: "fault-77",
                                    "controlplane.io/cluster": "conformance"},
                         "annotations": {"controlplane.io/expires-at": rfc3339(0)}},
            "spec": {"action": "partition"}}

    async def serve() -> None:
        stop = asyncio.Event()
        task = _start_reaper(kube.platform.workspace.root, stop)
        assert task is not None
        try:
            await asyncio.to_thread(wait_for, "the expired object deleted",
                                    lambda: not kube.mock.of("chaos-mesh.org", "networkchaos"),
                                    timeout=60, interval=0.2)
        finally:
            stop.set()
            await task
    asyncio.run(serve())


def test_the_service_runs_no_reaper_for_a_local_workspace(tmp_path: Path) -> None:
    """A local cluster's supervisor runs its reaper; the service does not start one."""
    async def serve() -> None:
        assert _start_reaper(tmp_path, asyncio.Event()) is None
    asyncio.run(serve())
