"""Halt latency through the control-plane API: from the halt request to the faults verified
reverted, for a run started with `controlplane chaos run` (a 60 s partition of one gateway from
matcher-0, held until halted).

Each round starts two such runs, one after the other, and halts them two ways:

    api        POST /api/v1/chaos/halt on the cluster's own control-plane service (its default
               wait: 1 s for the runner, then it reverts for it)
    cli        `controlplane chaos halt` as a new process (the reference: the same halt from a
               shell, interpreter start included)

and times a no-op round trip to the same service (GET /healthz, median of 20) as the floor of
any API call. "Reverted" is the fault record's reverted_at (written once the revert was
verified by observation) minus the moment the request was sent; "answered" is when the API
replied, or the CLI exited, with every fault observed gone.

    .venv/bin/python benchmarks/chaos_api_halt.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cluster, median, owner_token, save, topology_with  # noqa: E402

from controlplane.chaos.probes import slo_availability  # noqa: E402
from controlplane.store import Store  # noqa: E402

HOLD_S = 60
PROBE = {"type": "probe", "name": "gateway-availability-10s",
         "tolerance": {"type": "range", "range": [0.0, 2.0]},
         "provider": {"type": "python", "module": "controlplane.chaos.probes",
                      "func": "slo_availability",
                      "arguments": {"service": "gateway", "window_s": 10}}}
EXPERIMENT = {
    "version": "1.0.0", "title": "benchmark: gateway partitioned from matcher-0, held 60 s",
    "description": "Only a halt ends it early: the steady state always holds.",
    "tags": ["fault:network-partition", "component:gateway", "severity:low", "runbook:none"],
    "configuration": {
        "controlplane_state_dir": {"type": "env", "key": "CONTROLPLANE_STATE_DIR",
                                   "default": ".state/reference-trading"},
        "controlplane_run_id": {"type": "env", "key": "CONTROLPLANE_RUN_ID", "default": ""}},
    "steady-state-hypothesis": {"title": "always holds", "probes": [PROBE]},
    "method": [{"type": "action", "name": "partition-gateway",
                "provider": {"type": "python", "module": "controlplane.chaos.actions",
                             "func": "inject_fault",
                             "arguments": {"kind": "network-partition", "target": "gateway",
                                           "parameters": {"duration_s": HOLD_S,
                                                          "peer": "matcher-0"}}},
                "pauses": {"after": HOLD_S}}],
    "rollbacks": [{"type": "action", "name": "revert",
                   "provider": {"type": "python", "module": "controlplane.chaos.actions",
                                "func": "revert_run_faults"}}],
    "runtime": {"rollbacks": {"strategy": "always"}},
}
CLI = [sys.executable, "-m", "controlplane", "chaos"]


TOKEN: dict[str, str] = {}       # {"owner": the cluster owner's token}, set by main


def http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {TOKEN['owner']}"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return reply.status, json.loads(reply.read())


def wait(what: str, probe: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def settle(platform) -> None:
    config = {"controlplane_state_dir": str(platform.workspace.root)}
    wait("every instance ready", lambda: all(i.health.ready for i in platform.info().instances),
         90)
    wait("a clean SLO window", lambda: slo_availability("gateway", 10, config) >= 1.0, 90)


@contextlib.contextmanager
def running_experiment(platform, api: str, path: Path) -> Iterator[dict[str, Any]]:
    """A `chaos run` subprocess, once the API lists it and its partition is in force; the
    runner is waited for (killed past 3 minutes) and chaos resumed afterwards."""
    runner = subprocess.Popen([*CLI, "run", str(path), "--state-dir",
                               str(platform.workspace.root)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        run = wait("the run listed by the API", lambda: next(
            (r for r in http("GET", f"{api}/api/v1/chaos/runs?state=running")[1]["runs"]
             if r["pid"] == runner.pid), None), 120)
        fault = wait("its partition in force", lambda: next(
            (f for f in http("GET", f"{api}/api/v1/chaos/runs/{run['run_id']}")[1]["faults"]
             if f["state"] == "injected"), None), 120)
        yield {"run": run, "fault": fault}
        runner.wait(180)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait(30)
        http("POST", f"{api}/api/v1/chaos/resume", {})


def reverted_at(platform, fault_id: int) -> float:
    with Store(platform.workspace.store_path) as store:
        fault = store.get_fault(fault_id)
    assert fault is not None and fault.state == "reverted", fault
    return float(fault.reverted_at or "nan")


def halt_api(platform, api: str, fault: dict[str, Any]) -> dict[str, float]:
    asked = time.time()
    status, doc = http("POST", f"{api}/api/v1/chaos/halt", {"reason": "benchmark"})
    answered = time.time() - asked
    assert status == 200 and doc["ok"], doc
    assert not platform.network().active(f"fault-{fault['id']}")
    return {"reverted_s": reverted_at(platform, fault["id"]) - asked, "answered_s": answered,
            "by_runner": float(all(f["reverted_by"] == "runner" for f in doc["faults"]))}


def halt_cli(platform, api: str, fault: dict[str, Any]) -> dict[str, float]:
    asked = time.time()
    done = subprocess.run([*CLI, "halt", "--reason", "benchmark", "--state-dir",
                           str(platform.workspace.root)], capture_output=True, timeout=120)
    answered = time.time() - asked
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert not platform.network().active(f"fault-{fault['id']}")
    return {"reverted_s": reverted_at(platform, fault["id"]) - asked, "answered_s": answered}


def round_trip(api: str) -> float:
    times = []
    for _ in range(20):
        started = time.perf_counter()
        http("GET", f"{api}/healthz")
        times.append(time.perf_counter() - started)
    return median(times)


def summary(rows: dict[str, list[dict[str, float]]], floor: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, runs in rows.items():
        out[path] = {f"{key}_{stat}": fn([r[key] for r in runs]) for key in
                     ("reverted_s", "answered_s") for stat, fn in (("median", median),
                                                                  ("max", max))}
        out[path]["runs"] = runs
    out["healthz_round_trip_s"] = {"median": median(floor), "max": max(floor)}
    return out


def readme_rows(result: dict[str, Any], runs: int) -> str:
    names = {"api": "`POST /api/v1/chaos/halt` (the service)",
             "cli": "`controlplane chaos halt` (reference: a new process)"}
    lines = ["| halt through | runs | request to faults verified reverted, median / max | "
             "request to answer, median / max |", "|---|---|---|---|"]
    for path, name in names.items():
        r = result[path]
        lines.append(f"| {name} | {runs} | {r['reverted_s_median']:.3f} s / "
                     f"{r['reverted_s_max']:.3f} s | {r['answered_s_median']:.3f} s / "
                     f"{r['answered_s_max']:.3f} s |")
    floor = result["healthz_round_trip_s"]
    lines.append(f"| no-op `GET /healthz` (floor) | {runs} x 20 | | "
                 f"{floor['median']:.4f} s / {floor['max']:.4f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="api-halt-", dir="/tmp")) / "partition.json"
    path.write_text(json.dumps(EXPERIMENT))
    rows: dict[str, list[dict[str, float]]] = {"api": [], "cli": []}
    floor: list[float] = []
    with cluster(topology_with()) as platform:
        api = platform.instances("controlplane")[0].endpoints["http"]
        TOKEN["owner"] = owner_token(platform)
        for n in range(args.runs):
            for name, halt in (("api", halt_api), ("cli", halt_cli)):
                settle(platform)
                with running_experiment(platform, api, path) as started:
                    rows[name].append(halt(platform, api, started["fault"]))
            floor.append(round_trip(api))
            print(f"run {n + 1}: api reverted {rows['api'][-1]['reverted_s']:.3f} s, answered "
                  f"{rows['api'][-1]['answered_s']:.3f} s; cli reverted "
                  f"{rows['cli'][-1]['reverted_s']:.3f} s, exited "
                  f"{rows['cli'][-1]['answered_s']:.3f} s; healthz {floor[-1] * 1000:.1f} ms",
                  flush=True)
    result = summary(rows, floor)
    save("chaos_api_halt", {"date": time.strftime("%Y-%m-%d"), "runs": args.runs, **result})
    print(json.dumps(result, indent=1) if args.json else readme_rows(result, args.runs))


if __name__ == "__main__":
    main()
