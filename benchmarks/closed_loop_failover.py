"""The closed failover loop: fault -> alert at the control plane -> ledger-failover runbook ->
writes recover, over repeated drills, with Patroni alone as the reference in the same run.

One cluster with the shipped topology (Patroni 4.1.4, ttl 20, loop_wait 1, retry_timeout 3):

    loop       automation on: LedgerNoPrimary reaches the control plane and starts the
               ledger-failover runbook, which promotes the synchronous standby as soon as the
               old primary is confirmed dead
    patroni    automation paused (`runbook pause`): Patroni's own failover after its leader
               lease expires (the reference)
    soak       automation on, steady traffic, no fault: false failovers (Patroni timeline
               changes), runbook runs started and page alerts received

Each drill kills the primary (SIGKILL of Patroni and every PostgreSQL process) under 50
orders/s, measures the client-observed RTO, reconciles every acknowledged order (RPO), reads
the loop's evidence back from the store, and rejoins the old primary before the next drill.

    .venv/bin/python benchmarks/closed_loop_failover.py [--drills 20] [--reference-drills 5]
                                                         [--soak 300]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cluster, median, save, topology_with  # noqa: E402
from failover_rto import soak as patroni_soak  # noqa: E402

from controlplane.application.drills import ledger_failover_drill  # noqa: E402
from controlplane.drills import DrillSettings  # noqa: E402
from controlplane.store import Store  # noqa: E402


def drills(platform, store: Store, n: int, label: str) -> list[dict]:
    out = []
    for i in range(n):
        o = asyncio.run(ledger_failover_drill(platform, store, DrillSettings(
            rate=50, warmup_s=3, settle_s=2, max_wait_s=120, loop_wait_s=20)))
        r = o.result()
        loop = r["loop"] or {}
        r["alerted_s"], r["first_action_s"] = loop.get("alerted_s"), loop.get("first_action_s")
        r["run_state"] = loop.get("run_state")
        out.append(r)
        print(f"  {label} {i + 1}/{n}: alert {r['alerted_s']} s, first action "
              f"{r['first_action_s']} s, failover {r['failover_s']} s, RTO {r['rto_s']} s, "
              f"RPO {r['rpo_orders']} of {r['acked_total']}, runbook {r['run_state']}, "
              f"{r['verdict']}", flush=True)
    return out


def summary(name: str, runs: list[dict]) -> dict:
    def col(key: str) -> list[float]:
        return [r[key] for r in runs if r.get(key) is not None]
    s = {"variant": name, "drills": len(runs),
         "rto_median_s": median(col("rto_s")), "rto_max_s": max(col("rto_s"), default=None),
         "failover_median_s": median(col("failover_s")),
         "failover_max_s": max(col("failover_s"), default=None),
         "alerted_median_s": median(col("alerted_s")),
         "alerted_max_s": max(col("alerted_s"), default=None),
         "first_action_median_s": median(col("first_action_s")),
         "rpo_lost_total": sum(r["rpo_orders"] for r in runs),
         "rpo_lost_per_drill": [r["rpo_orders"] for r in runs],
         "acked_total": sum(r["acked_total"] for r in runs),
         "runbook_states": {k: sum(r["run_state"] == k for r in runs)
                            for k in {r["run_state"] for r in runs}},
         "passed": sum(r["verdict"] == "PASS" for r in runs), "runs": runs}
    print(f"  => {name}: RTO median {s['rto_median_s']:.2f} s (max {s['rto_max_s']}), "
          f"alert median {s['alerted_median_s']} s (max {s['alerted_max_s']}), RPO lost "
          f"{s['rpo_lost_total']} of {s['acked_total']}", flush=True)
    return s


def soak(platform, store: Store, seconds: float) -> dict:
    """failover_rto's soak (steady traffic, no fault) with automation on, plus what the
    control plane did meanwhile: runbook runs started and page alerts received."""
    since = time.time()
    out = patroni_soak(platform, seconds)
    runs = [r for r in store.runbook_runs(limit=200) if r.started_at >= since]
    pages = [a for a in store.alert_history(limit=500)
             if a.first_received_at >= since and a.severity == "page"]
    out |= {"runbook_runs": [(r.runbook, r.state) for r in runs],
            "page_alerts": sorted({a.alertname for a in pages})}
    print(f"  soak {seconds:g} s: {out}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drills", type=int, default=20)
    parser.add_argument("--reference-drills", type=int, default=5)
    parser.add_argument("--soak", type=float, default=300)
    args = parser.parse_args()
    tempfile.tempdir = "/tmp"
    with cluster(topology_with()) as platform, Store(platform.workspace.store_path) as store:
        print(f"== loop: {args.drills} drills, automation on", flush=True)
        loop = summary("loop", drills(platform, store, args.drills, "loop"))
        print(f"== patroni: {args.reference_drills} drills, automation paused", flush=True)
        store.set_automation_paused(True, "benchmark", "reference: Patroni alone")
        try:
            ref = summary("patroni", drills(platform, store, args.reference_drills, "patroni"))
        finally:
            store.set_automation_paused(False, "benchmark")
        soaked = soak(platform, store, args.soak) if args.soak else None
    ratio = ref["rto_median_s"] / loop["rto_median_s"] if loop["rto_median_s"] else None
    print(f"RTO median: loop {loop['rto_median_s']:.2f} s vs Patroni alone "
          f"{ref['rto_median_s']:.2f} s ({ratio:.1f}x)")
    save("closed_loop_failover", {"date": time.strftime("%Y-%m-%d"), "loop": loop,
                                  "patroni": ref, "rto_ratio": ratio, "soak": soaked})


if __name__ == "__main__":
    main()
