"""Requests/s per load-generator core: our trading locustfile, a minimal FastHttpUser, wrk.

All three hit the same endpoint (GET /v1/quotes/AAPL on the gateway) with the same number of
concurrent clients, back to back with no think time, interleaved round by round in one run:

- ours: loadtests/quotes.py (PacedUser: schedule, W3C traceparent, catch_response) run by
  `controlplane load` in local mode, so its HdrHistogram hooks and progress ticks count too;
- minimal: benchmarks/locust_minimal.py (one FastHttpUser task) under the plain `locust`;
- wrk (Debian's), one thread: the reference limit.

On this machine the gateway, not the generator, usually sets the raw rate, so each
generator's rate is divided by the CPU it used (sampled with psutil over the middle of the
run): requests per second per fully used core. Figures are medians over the rounds.

    .venv/bin/python benchmarks/load_generator_rps.py [--duration 15] [--clients 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cluster, median, save, topology_with  # noqa: E402

from controlplane.load.gates import load_gate_policy  # noqa: E402
from controlplane.load.profiles import load_profile  # noqa: E402
from controlplane.load.run import LoadRun, RunRequest  # noqa: E402
from controlplane.load.target import gateway_url  # noqa: E402

HERE = Path(__file__).resolve().parent
PATH = "/v1/quotes/AAPL"


class CpuSampler:
    """CPU seconds a process (and its children) used between `warm` s after start and the
    end minus `cool` s, and the fraction of one core that is."""

    def __init__(self, find: Any, warm: float, cool: float, duration: float) -> None:
        self.find, self.warm, self.cool, self.duration = find, warm, cool, duration
        self.fraction = float("nan")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _cpu(self, proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return times.user + times.system

    def _run(self) -> None:
        started = time.monotonic()
        proc = None
        while proc is None and time.monotonic() - started < 10:
            proc = self.find()
            time.sleep(0.05)
        if proc is None:
            return
        time.sleep(max(0.0, self.warm - (time.monotonic() - started)))
        t0, c0 = time.monotonic(), self._cpu(proc)
        time.sleep(max(1.0, self.duration - self.warm - self.cool))
        t1, c1 = time.monotonic(), self._cpu(proc)
        self.fraction = (c1 - c0) / (t1 - t0)


def child_with(marker: str) -> psutil.Process | None:
    for proc in psutil.Process().children(recursive=True):
        try:
            if marker in " ".join(proc.cmdline()):
                return proc
        except psutil.Error:
            continue
    return None


def run_ours(host: str, clients: int, duration: float, work: Path) -> dict[str, float]:
    profile = load_profile("quotes")
    out = Path(tempfile.mkdtemp(dir=work))
    request = RunRequest(profile=profile, host=host, out_dir=out,
                         gates=load_gate_policy("calibration"), gate_policy="calibration",
                         users=clients, spawn_rate=clients, duration_s=duration, mode="local",
                         env={"LOAD_QUOTE_PAUSE_S": "0"})
    sampler = CpuSampler(lambda: child_with("controlplane.load.locust_process"), 3, 1, duration)
    outcome = LoadRun(request).execute()
    sampler.thread.join()
    rps = outcome.summary["hdr"]["requests"] / outcome.summary["duration_s"]
    return {"rps": rps, "cpu": sampler.fraction,
            "failures": outcome.summary["hdr"]["failures"]}


def run_minimal(host: str, clients: int, duration: float, work: Path) -> dict[str, float]:
    locust = Path(sys.executable).with_name("locust")
    argv = [str(locust), "-f", str(HERE / "locust_minimal.py"), "--headless", "-u",
            str(clients), "-r", str(clients), "-t", f"{duration:g}s", "--host", host,
            "--only-summary", "--json"]
    proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    sampler = CpuSampler(lambda: psutil.Process(proc.pid), 3, 1, duration)
    stdout, _ = proc.communicate(timeout=duration + 60)
    sampler.thread.join()
    stats = json.loads(stdout)
    requests = sum(s["num_requests"] for s in stats)
    failures = sum(s["num_failures"] for s in stats)
    elapsed = max(s["last_request_timestamp"] for s in stats) - \
        min(s["start_time"] for s in stats)
    return {"rps": requests / elapsed, "cpu": sampler.fraction, "failures": failures}


def run_wrk(host: str, clients: int, duration: float, work: Path) -> dict[str, float]:
    argv = ["wrk", "-t1", f"-c{clients}", f"-d{duration:g}s", host + PATH]
    proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    sampler = CpuSampler(lambda: psutil.Process(proc.pid), 3, 1, duration)
    stdout, _ = proc.communicate(timeout=duration + 60)
    sampler.thread.join()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", stdout)[1])    # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
    return {"rps": rps, "cpu": sampler.fraction, "failures": int(errors[1]) if errors else 0}


RUNNERS = {"ours (loadtests/quotes.py)": run_ours, "minimal FastHttpUser": run_minimal,
           "wrk -t1": run_wrk}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: scripts/setup.sh wrk (or apt-get install wrk)")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in RUNNERS}
    with cluster(topology_with()) as platform, \
            tempfile.TemporaryDirectory(dir="/tmp") as work:
        host = gateway_url(platform)
        for n in range(args.runs):
            for name, runner in RUNNERS.items():
                r = runner(host, args.clients, args.duration, Path(work))
                r["per_core"] = r["rps"] / r["cpu"] if r["cpu"] > 0 else float("nan")
                results[name].append(r)
                print(f"round {n + 1} {name:<28} {r['rps']:8.0f} req/s  CPU {r['cpu']:5.1%}  "
                      f"{r['per_core']:8.0f} req/s per core  failures {r['failures']:.0f}",
                      flush=True)
    table = {name: {k: median([r[k] for r in runs]) for k in runs[0]}
             for name, runs in results.items()}
    ours = table["ours (loadtests/quotes.py)"]["per_core"]
    print(f"\nmedians over {args.runs} rounds, {args.clients} clients, {args.duration:g} s each, "
          f"GET {PATH} ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores):")
    print("| generator | raw req/s | generator CPU | req/s per core | vs ours |")
    print("|---|---|---|---|---|")
    for name, row in table.items():
        print(f"| {name} | {row['rps']:,.0f} | {row['cpu']:.0%} | {row['per_core']:,.0f} | "
              f"{row['per_core'] / ours:.1f}x |")
    save("load_generator_rps", {"args": vars(args), "runs": results, "medians": table})


if __name__ == "__main__":
    main()
