"""Abort latency: from a steady-state breach to the fault reverted.

The same breaching experiment (a 60 s hang of the gateway, with a steady state that tolerates
almost nothing) runs repeatedly under two runners, side by side in one invocation:

    ours       controlplane's guarded runner: a guard re-checks the steady state every 0.5 s,
               reverts the run's faults at once on a breach, then interrupts the method
    reference  plain Chaos Toolkit (`chaos run --hypothesis-strategy continuously
               --hypothesis-frequency 1 --fail-fast`): the continuous check marks the run
               failed, but the method's pause is not interrupted, so the rollback (the revert)
               only plays when the pause ends

Breach time is when a steady-state probe first saw the deviation; revert time is when the
fault's record was verified reverted.

    .venv/bin/python benchmarks/chaos_abort_latency.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cluster, median, save, topology_with  # noqa: E402

from controlplane.chaos.guardrails import load_policy  # noqa: E402
from controlplane.chaos.probes import slo_availability  # noqa: E402
from controlplane.chaos.runner import ChaosRunner  # noqa: E402
from controlplane.store import Store  # noqa: E402

EXPERIMENT = {
    "version": "1.0.0", "title": "benchmark: gateway hang 60 s",
    "description": "A breach on purpose: the steady state tolerates almost no unavailability.",
    "tags": ["fault:process-pause", "component:gateway", "severity:high",
             "runbook:gateway-restart"],
    "configuration": {
        "controlplane_state_dir": {"type": "env", "key": "CONTROLPLANE_STATE_DIR",
                                   "default": ".state/reference-trading"},
        "controlplane_run_id": {"type": "env", "key": "CONTROLPLANE_RUN_ID", "default": ""}},
    "steady-state-hypothesis": {"title": "gateway available", "probes": [
        {"type": "probe", "name": "gateway-availability-10s",
         "tolerance": {"type": "range", "range": [0.97, 1.0]},
         "provider": {"type": "python", "module": "controlplane.chaos.probes",
                      "func": "slo_availability",
                      "arguments": {"service": "gateway", "window_s": 10}}}]},
    "method": [{"type": "action", "name": "hang-gateway",
                "provider": {"type": "python", "module": "controlplane.chaos.actions",
                             "func": "inject_fault",
                             "arguments": {"kind": "process-pause", "target": "gateway",
                                           "parameters": {"duration_s": 60}}},
                "pauses": {"after": 60}}],
    "rollbacks": [{"type": "action", "name": "revert",
                   "provider": {"type": "python", "module": "controlplane.chaos.actions",
                                "func": "revert_run_faults"}}],
    "runtime": {"rollbacks": {"strategy": "always"}},
}


def clean_window(platform) -> None:
    config = {"controlplane_state_dir": str(platform.workspace.root)}
    deadline = time.time() + 90
    while time.time() < deadline and slo_availability("gateway", 10, config) < 1.0:
        time.sleep(0.5)


def ours(platform, path: Path) -> float:
    out = ChaosRunner(platform, load_policy()).run(path)
    assert out.abort_latency_s is not None, out.reason
    return out.abort_latency_s


def reference(platform, path: Path, run: int) -> float:
    run_id = f"bench-ref-{run}-{os.getpid()}"
    journal = path.with_suffix(f".journal-{run}.json")
    env = {**os.environ, "CONTROLPLANE_STATE_DIR": str(platform.workspace.root),
           "CONTROLPLANE_RUN_ID": run_id}
    subprocess.run([sys.executable, "-m", "chaostoolkit", "--no-log-file", "run",
                    "--hypothesis-strategy", "continuously", "--hypothesis-frequency", "1",
                    "--fail-fast", "--rollback-strategy", "always",
                    "--journal-path", str(journal), str(path)],
                   env=env, capture_output=True, timeout=300)
    data = json.loads(journal.read_text())
    breach = min(datetime.fromisoformat(p["end"]).timestamp()
                 for s in data["steady_states"]["during"] if not s["steady_state_met"]
                 for p in s["probes"] if not p["tolerance_met"])
    with Store(platform.workspace.store_path) as store:
        fault = store.faults_of_run(run_id)[0]
    return fault.reverted_at - breach


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="abort-", dir="/tmp")) / "breach.json"
    path.write_text(json.dumps(EXPERIMENT))
    rows = {"ours": [], "reference": []}
    with cluster(topology_with()) as platform:
        for run in range(args.runs):
            clean_window(platform)
            rows["ours"].append(ours(platform, path))
            clean_window(platform)
            rows["reference"].append(reference(platform, path, run))
            print(f"run {run + 1}: ours {rows['ours'][-1]:.2f} s, plain Chaos Toolkit "
                  f"{rows['reference'][-1]:.2f} s", flush=True)
    summary = {k: {"median_s": median(v), "max_s": max(v), "runs": v} for k, v in rows.items()}
    summary["ratio_of_medians"] = summary["reference"]["median_s"] / summary["ours"]["median_s"]
    print(json.dumps({k: v for k, v in summary.items()}, indent=1))
    save("chaos_abort_latency", {"date": time.strftime("%Y-%m-%d"), **summary})


if __name__ == "__main__":
    main()
