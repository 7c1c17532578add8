"""The matcher autoscaling loop, repeated: order load past one matcher's capacity, the
MatcherSaturated alert, the matcher-autoscaling runbook's scale-out, and order p99 at the
gateway back under the 100 ms SLO. Per drill: alert latency (load start to the alert received
by the control plane), alert to new instance ready, load start to p99 back under the SLO, p99
before and after, and acknowledged orders lost (RPO) and misfilled.

One cluster with one matcher whose engine takes `--engine-cost-ms` an order; between drills
the matcher is scaled back in to one instance and the alert left to resolve.

Reference, in the same run: the same overload with runbook automation paused (nothing scales),
to show what the loop changes.

    .venv/bin/python benchmarks/autoscale_loop.py [--drills 5] [--rate 60] [--engine-cost-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cluster, median, save  # noqa: E402

from controlplane.application.drills import autoscale_drill  # noqa: E402
from controlplane.drills.autoscale import AutoscaleSettings, autoscale_topology  # noqa: E402
from controlplane.observe.prometheus import PrometheusClient  # noqa: E402
from controlplane.store import Store  # noqa: E402

SYMBOLS = ("AAPL", "AMZN", "MSFT", "NVDA")


def quiet(platform, wait_s: float = 60.0) -> None:
    """Back to one matcher, and MatcherSaturated resolved (so the next drill gets a new one)."""
    while len(platform.instances("matcher")) > 1:
        platform.scale_in("matcher")
    prom = PrometheusClient(platform.instances("prometheus")[0].endpoints["http"])
    deadline = time.time() + wait_s
    while time.time() < deadline and prom.query('ALERTS{alertname="MatcherSaturated"}'):
        time.sleep(1)
    time.sleep(3)


def drill(platform, settings: AutoscaleSettings) -> dict:
    with Store(platform.workspace.store_path) as store:
        out = asyncio.run(autoscale_drill(platform, store, settings))
    r = out.result()
    row = {"verdict": r["verdict"], "alerted_s": r["alerted_s"],
           "alert_to_ready_s": r["alert_to_ready_s"], "p99_recovered_s": r["p99_recovered_s"],
           "p99_before_ms": r["p99_before_ms"], "p99_after_ms": r["p99_after_ms"],
           "sli_after": r["sli_after"], "client_p99_before_ms": r["client_p99_before_ms"],
           "client_p99_after_ms": r["client_p99_after_ms"], "acked": r["acked_total"],
           "lost": r["rpo_orders"], "misfilled": r["double_fills"],
           "crossed": r["crossed_books"], "failures": r["failures"]}
    print(f"  {row['verdict']}: alert {row['alerted_s']} s, alert->ready "
          f"{row['alert_to_ready_s']} s, p99 back at {row['p99_recovered_s']} s, gateway p99 "
          f"{row['p99_before_ms']} -> {row['p99_after_ms']} ms ({row['sli_after']} within "
          f"100 ms), client p99 {row['client_p99_before_ms']} -> {row['client_p99_after_ms']} ms,"
          f" lost {row['lost']} of {row['acked']}, misfilled {row['misfilled']}", flush=True)
    return row


def reference(platform, settings: AutoscaleSettings) -> dict:
    with Store(platform.workspace.store_path) as store:
        store.set_automation_paused(True, "benchmark", "reference: no autoscaling")
    try:
        return drill(platform, settings)
    finally:
        with Store(platform.workspace.store_path) as store:
            store.set_automation_paused(False, "benchmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drills", type=int, default=5)
    parser.add_argument("--rate", type=float, default=60)
    parser.add_argument("--engine-cost-ms", type=float, default=20)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    settings = AutoscaleSettings(rate=args.rate, symbols=SYMBOLS, max_wait_s=75)
    rows, ref = [], None
    with cluster(autoscale_topology(args.engine_cost_ms)) as platform:
        if not args.no_reference:
            print("reference (automation paused):", flush=True)
            ref = reference(platform, AutoscaleSettings(rate=args.rate, symbols=SYMBOLS,
                                                        max_wait_s=30))
            quiet(platform)
        for i in range(args.drills):
            print(f"drill {i + 1}/{args.drills}:", flush=True)
            rows.append(drill(platform, settings))
            quiet(platform)
    numeric = ("alerted_s", "alert_to_ready_s", "p99_recovered_s", "p99_before_ms",
               "p99_after_ms", "sli_after", "client_p99_before_ms", "client_p99_after_ms")
    summary = {k: {"median": median([r[k] for r in rows if r[k] is not None]),
                   "max": max((r[k] for r in rows if r[k] is not None), default=None)}
               for k in numeric}
    summary["passed"] = sum(r["verdict"] == "PASS" for r in rows)
    summary["lost"] = sum(r["lost"] for r in rows)
    summary["acked"] = sum(r["acked"] for r in rows)
    print(f"{summary['passed']}/{len(rows)} passed; lost {summary['lost']} of "
          f"{summary['acked']} acknowledged", flush=True)
    for k in numeric:
        print(f"  {k}: median {summary[k]['median']}, max {summary[k]['max']}")
    save("autoscale_loop", {"date": time.strftime("%Y-%m-%d"), "rate": args.rate,
                            "engine_cost_ms": args.engine_cost_ms, "drills": rows,
                            "reference": ref, "summary": summary})


if __name__ == "__main__":
    main()
