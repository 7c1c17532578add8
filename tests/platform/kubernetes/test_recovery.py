"""Crash safety on Kubernetes: what a runner created in the cluster is found by its labels
and deleted after the runner was SIGKILLed (`chaos recover`, the reaper's pass, `chaos
halt`), and expired objects are swept.

The runner is a real subprocess that injects through the real fault engine and store, then is
SIGKILLed; the cluster is the mock API server. What these do not cover: no real Chaos Mesh
(its own `duration` expiry), no scheduler, no kubelet, no real network. Not end-to-end tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from controlplane.application import chaos as usecases
from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.chaos.reaper import reap
from tests.platform.kubernetes.conftest import Kube

REPO = Path(__file__).resolve().parents[3]
RUNNER = """
import sys, time
from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.platform import open_platform
platform = open_platform(sys.argv[1])
engine = FaultEngine(FaultContext(platform, platform.workspace.store_path))
engine.inject("network-partition", "gateway", {"peer": "matcher", "duration_s": 600},
              run_id="run-42")
platform.resources().spawn_helper("fault-900", "matcher-0", [
    "python", "-m", "controlplane.chaos.helpers.burn", "--cores", "1", "--duration", "600"])
print("injected", flush=True)
time.sleep(600)
"""


def managed(kube: Kube) -> list[dict]:
    return (kube.mock.of("chaos-mesh.org", "networkchaos")
            + kube.mock.of("chaos-mesh.org", "stresschaos")
            + kube.mock.of("networking.k8s.io", "networkpolicies"))


def run_and_sigkill(kube: Kube) -> None:
    """A runner injects a partition (recorded in the store) and a StressChaos (recorded
    nowhere), then is SIGKILLed."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CONTROLPLANE_RUN_ID": "run-env"}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(kube.platform.workspace.root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.strip() == "injected", proc.stderr.read() if proc.stderr else ""
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_chaos_recover_after_a_sigkilled_runner_deletes_every_labelled_object(
        kube: Kube) -> None:
    """After the SIGKILL the objects are still there, labelled with the fault and run ids;
    `chaos recover` reverts the recorded fault (its owner is dead) and sweeps the object no
    open fault owns: nothing labelled is left."""
    run_and_sigkill(kube)
    left = managed(kube)
    assert len(left) == 3           # two NetworkChaos (both ways) and one StressChaos
    runs = sorted(o["metadata"]["labels"]["controlplane.io/run-id"] for o in left)
    assert runs == ["run-42", "run-42", "run-env"]  # the fault's record, else the environment
    report = usecases.recover(kube.platform)
    assert [e.ok for e in report.reverted.values()] == [True]
    assert len(report.swept) == 1 and report.swept[0].startswith("stresschaos/")
    assert managed(kube) == []


def test_the_reapers_pass_sweeps_expired_objects(kube: Kube) -> None:
    """An object whose expires-at has passed goes at the next reaper pass, whatever its
    fault's record says (here: no record at all). The clock is moved, nothing sleeps."""
    kube.platform.network().block("fault-901", ["gateway-0"], ["matcher-0"])
    engine = FaultEngine(FaultContext(kube.platform, kube.platform.workspace.store_path))
    try:
        kube.platform.clock = lambda: time.time() + 10_000
        assert len(reap(engine).swept) == 1
    finally:
        engine.ctx.store.close()
    assert managed(kube) == []


def test_chaos_halt_also_sweeps_what_no_open_fault_owns(kube: Kube) -> None:
    """`chaos halt` reverts the open faults, then sweeps the platform's objects that belong
    to none (here a StressChaos made outside any recorded fault, as one whose record was
    lost)."""
    kube.platform.resources().spawn_helper(
        "fault-902", "matcher-0", ["controlplane.chaos.helpers.memhog", "--megabytes", "64"])
    outcome = usecases.halt(kube.platform, reason="test halt", wait_s=0)
    assert outcome.ok and managed(kube) == []
    usecases.resume(kube.platform.workspace)
