"""The guarded runner against the real cluster: a passing run with its evidence and reports,
abort-and-rollback on a breach, a skipped run, every guardrail refusal, halt, and recovery
by the supervisor after the runner is killed mid-fault."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.chaos.experiments import EXPERIMENTS_DIR
from controlplane.chaos.guardrails import load_policy
from controlplane.chaos.probes import slo_availability
from controlplane.chaos.runner import ChaosRunner
from controlplane.chaos.suite import run_suite
from controlplane.host.procs import proc_state
from controlplane.store import Store
from tests.support.local import pid
from tests.support.net import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]

POLICY = load_policy().model_copy(update={"load": load_policy().load.model_copy(
    update={"rate": 20})})


def _policy(**changes) -> object:
    data = POLICY.model_dump()
    for path, value in changes.items():
        section, key = path.split("__")
        data[section][key] = value
    return type(POLICY).model_validate(data)


def _experiment(tmp_path: Path, name: str, kind: str, target: str, params: dict | None = None,
                low: float = 0.5, pause: float = 3, pick: str = "one",
                extra: list | None = None) -> Path:
    inject = {"kind": kind, "target": target, "pick": pick,
              **({"parameters": params} if params else {})}
    method = [{"type": "action", "name": f"inject-{kind}",
               "provider": {"type": "python", "module": "controlplane.chaos.actions",
                            "func": "inject_fault", "arguments": inject},
               "pauses": {"after": pause}}] + (extra or [])
    data = {
        "version": "1.0.0", "title": name, "description": f"test: {name}",
        "tags": [f"fault:{kind}", "component:test", "severity:low", "runbook:none"],
        "configuration": json.loads(
            (EXPERIMENTS_DIR / "gateway" / "process-kill-gateway.json").read_text()
        )["configuration"],
        "steady-state-hypothesis": {"title": "gateway serves", "probes": [
            {"type": "probe", "name": "gateway-availability-10s",
             "tolerance": {"type": "range", "range": [low, 2.0]},
             "provider": {"type": "python", "module": "controlplane.chaos.probes",
                          "func": "slo_availability",
                          "arguments": {"service": "gateway", "window_s": 10}}}]},
        "method": method,
        "rollbacks": [{"type": "action", "name": "revert",
                       "provider": {"type": "python", "module": "controlplane.chaos.actions",
                                    "func": "revert_run_faults"}}],
        "runtime": {"rollbacks": {"strategy": "always"}},
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def _settle(cluster) -> None:
    """Every instance ready, and the last 10 s of gateway SLO history clean again."""
    wait_for("every instance ready", lambda: all(
        i.health.ready for i in cluster.info().instances) or None, timeout=90)
    config = {"controlplane_state_dir": str(cluster.workspace.root)}
    wait_for("a clean SLO window", lambda: slo_availability("gateway", 10, config) >= 1.0
             or None, timeout=60, interval=0.5)


def test_a_passing_run_with_evidence_and_reports(cluster, tmp_path: Path) -> None:
    _settle(cluster)
    path = EXPERIMENTS_DIR / "gateway" / "process-kill-gateway.json"
    result = run_suite(cluster, _policy(steady_state__recovery_timeout_s=60), [path],
                       report_dir=tmp_path / "reports")
    out = result.outcomes[0]
    assert out.state == "passed", out.reason
    assert [f.state for f in out.faults] == ["reverted"] and out.faults[0].injected_at
    assert out.rpo_orders == 0 and out.acked > 0 and out.rto_s is not None
    kinds = [k for k, _, _ in out.events]
    for kind in ("load_started", "steady_state_before", "method_started", "rollbacks_completed",
                 "recovered", "run_finished"):
        assert kind in kinds
    report = json.loads(result.reports["json"].read_text())
    assert report["counts"] == {"passed": 1}
    suite = ET.parse(result.reports["junit"]).getroot()
    assert suite.get("tests") == "1" and suite.get("failures") == "0"
    html = result.reports["html"].read_text()
    assert "data:image/png;base64," in html and "process-kill gateway" in html
    with Store(cluster.workspace.store_path) as store:
        assert store.get_chaos_run(out.run_id).state == "passed"


def test_a_breach_during_the_method_reverts_at_once_and_fails(cluster, tmp_path) -> None:
    _settle(cluster)
    path = _experiment(tmp_path, "pause-gateway-60s", "process-pause", "gateway",
                       {"duration_s": 60}, low=0.97, pause=60)
    started = time.time()
    out = ChaosRunner(cluster, POLICY).run(path)
    took = time.time() - started
    assert out.state == "failed" and "breached during the method" in out.reason
    assert out.abort_latency_s is not None and out.abort_latency_s < 2.0
    assert took < 45                                  # the 60 s pause was cut short
    assert [f.state for f in out.faults] == ["reverted"]
    assert proc_state(pid(cluster.info().instance("gateway-0"))) != "T"
    _settle(cluster)


def test_a_steady_state_that_does_not_hold_first_skips_the_run(cluster, tmp_path) -> None:
    path = _experiment(tmp_path, "impossible", "process-kill", "gateway", low=1.5)
    out = ChaosRunner(cluster, POLICY).run(path)
    assert out.state == "skipped" and "did not hold before" in out.reason
    assert out.faults == []                           # nothing was injected


def test_guardrail_refusals(cluster, tmp_path: Path) -> None:
    _settle(cluster)
    kill = _experiment(tmp_path, "kill-gateway", "process-kill", "gateway")
    with Store(cluster.workspace.store_path) as store:
        store.set_halt(True, "test halt")
        out = ChaosRunner(cluster, POLICY).run(kill)
        store.set_halt(False)
    assert out.state == "refused" and "'halt'" in out.reason and "chaos resume" in out.reason

    data = POLICY.model_dump()
    data["freeze"] = {"enabled": True, "timezone": "UTC", "holidays": [], "windows": [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00",
         "end": "23:59:59", "reason": "test freeze"}]}                # frozen all week
    out = ChaosRunner(cluster, type(POLICY).model_validate(data)).run(kill)
    assert out.state == "refused" and "'freeze-window'" in out.reason

    both = _experiment(tmp_path, "both-matchers", "process-kill", "matcher", pick="all")
    out = ChaosRunner(cluster, POLICY).run(both)
    assert out.state == "refused" and "2 of 2 matcher instances" in out.reason


def test_never_both_ledger_nodes_and_one_experiment_per_target(cluster, tmp_path) -> None:
    _settle(cluster)
    engine = FaultEngine(FaultContext(cluster, cluster.workspace.store_path))
    standby = engine.inject("process-pause", "ledger:standby", {"duration_s": 60},
                            run_id="another-run")
    try:
        out = ChaosRunner(cluster, POLICY).run(
            _experiment(tmp_path, "kill-primary", "process-kill", "ledger:primary"))
    finally:
        engine.revert(standby.id)
    assert out.state == "refused" and "every ledger instance" in out.reason

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = cluster.workspace.root / "chaos" / "locks" / "gateway-0.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text(f"someone-else {holder.pid}")
        out = ChaosRunner(cluster, POLICY).run(
            _experiment(tmp_path, "kill-gw", "process-kill", "gateway"))
    finally:
        holder.kill()
        holder.wait()
        lock.unlink(missing_ok=True)
    assert out.state == "refused" and "'one-experiment-per-target'" in out.reason


def test_the_error_budget_gate_refuses_after_an_outage(cluster, tmp_path) -> None:
    _settle(cluster)
    engine = FaultEngine(FaultContext(cluster, cluster.workspace.store_path))
    fault = engine.inject("process-pause", "gateway", {"duration_s": 30}, run_id="outage")
    config = {"controlplane_state_dir": str(cluster.workspace.root)}
    try:
        # until Prometheus has scraped the pause: under 99.95% over 60 s leaves less than half
        # of a 99.9% objective's budget, which the strict policy below refuses
        wait_for("the outage in the 60 s availability", lambda: slo_availability(
            "gateway", 60, config) < 0.9995 or None, timeout=60, interval=0.5)
    finally:
        engine.revert(fault.id)
    strict = _policy(error_budget__slo=0.999, error_budget__window_s=60,
                     error_budget__min_remaining=0.5, error_budget__wait_s=0)
    out = ChaosRunner(cluster, strict).run(
        _experiment(tmp_path, "kill-md", "process-kill", "marketdata"))
    assert out.state == "refused" and "'error-budget'" in out.reason


def _cli(cluster, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "controlplane", "chaos", *args,
                             "--state-dir", str(cluster.workspace.root)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


def _open_fault(cluster):
    with Store(cluster.workspace.store_path) as store:
        faults = store.open_faults()
        return faults[0] if faults and faults[0].state == "injected" else None


def test_halt_stops_a_running_experiment_and_blocks_new_ones(cluster, tmp_path) -> None:
    _settle(cluster)
    path = _experiment(tmp_path, "long-pause", "process-pause", "matcher-1",
                       {"duration_s": 120}, low=0.0, pause=120)
    runner = _cli(cluster, "run", str(path))
    wait_for("the fault to be injected", lambda: _open_fault(cluster), timeout=60)
    halt = _cli(cluster, "halt", "--reason", "test")
    assert halt.wait(60) == 0, halt.stdout.read()
    assert runner.wait(60) != 0
    with Store(cluster.workspace.store_path) as store:
        assert store.open_faults() == []
        assert store.halt_state().halted
        run = store.chaos_runs(limit=1)[0]
    assert run.state == "aborted"
    _settle(cluster)
    refused = _cli(cluster, "run", str(path))
    output = refused.communicate(timeout=60)[0]
    assert refused.returncode != 0 and "halt" in output
    assert _cli(cluster, "resume").wait(30) == 0


@pytest.mark.parametrize("kind, target, params", [
    ("process-pause", "matcher-1", {"duration_s": 120}),
    ("network-partition", "gateway", {"duration_s": 120, "peer": "matcher-0"}),
])
def test_the_supervisor_reverts_the_fault_of_a_killed_runner(cluster, tmp_path, kind, target,
                                                             params) -> None:
    """Issue 14.3: a SIGSTOP or nftables fault whose runner was SIGKILLed is reverted by the
    supervisor's reaper within seconds (not at its 170 s expiry), with no `chaos recover`,
    and the run is marked aborted."""
    _settle(cluster)
    path = _experiment(tmp_path, f"{kind}-then-crash", kind, target, params, low=0.0,
                       pause=120)
    runner = _cli(cluster, "run", str(path), start_new_session=True)
    fault = wait_for("the fault to be injected", lambda: _open_fault(cluster), timeout=60)
    if kind == "process-pause":
        frozen = pid(cluster.info().instance(target))
        assert proc_state(frozen) == "T"
        in_force = lambda: proc_state(frozen) == "T"                          # noqa: E731
    else:
        in_force = lambda: bool(cluster.network().active(f"fault-{fault.id}"))  # noqa: E731
        assert in_force()
    killed_at = time.time()
    os.killpg(runner.pid, signal.SIGKILL)             # the control plane crashes mid-fault
    runner.wait(10)
    with Store(cluster.workspace.store_path) as store:
        wait_for("the reaper to revert it", lambda: store.get_fault(fault.id).state ==
                 "reverted", timeout=15)
        record = store.get_fault(fault.id)
        run = store.chaos_runs(limit=1)[0]
    assert not in_force()
    assert record.reverted_at - killed_at < 15 and "is gone" in record.revert_detail["why"]
    assert run.state == "aborted" and "died mid-run" in run.reason
    assert run.ended_at - killed_at < 5
    recover = _cli(cluster, "recover")                # nothing is left for it to do
    output = recover.communicate(timeout=60)[0]
    assert recover.returncode == 0 and "0 faults reverted" in output, output
    _settle(cluster)


def test_chaos_discover_lists_our_activities(tmp_path: Path) -> None:
    out = tmp_path / "discovery.json"
    result = subprocess.run([sys.executable, "-m", "chaostoolkit", "--no-log-file", "discover",
                             "controlplane", "--no-install", "--no-system-info",
                             "--discovery-path", str(out)], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = {a["name"] for a in json.loads(out.read_text())["activities"]}
    assert {"inject_fault", "revert_run_faults", "slo_availability", "canary_order"} <= names
