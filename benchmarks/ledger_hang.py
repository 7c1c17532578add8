"""Hung-primary drills: acknowledged orders lost after a freeze longer than the leader lease.

Each drill freezes the ledger primary (SIGSTOP of Patroni and every PostgreSQL process) for
--hold seconds under 40 orders/s, resumes it, waits until the ledger settles, and counts the
acknowledged orders missing: through HAProxy (the meter's RPO), on each node with SQL, and
from the gateways' journals. It also records whether the old primary took its lock back,
how the ledger-failover run ended, and whether AcknowledgedOrdersMissing or
LedgerTimelineRegressed reached the control plane. Automation stays on: this is the product
as shipped.

Two variants in one run, drill for drill:
    pinned  Patroni 4.1.4 from requirements-patroni.lock (ttl 20): the shipped ledger
    debian  Debian's Patroni 3.0.2 (ttl 10, the old default): the reference
The first --fresh drills of each variant each get a freshly started cluster (the losses the
issue saw came on first drills); the rest run one after another on one cluster. Afterwards a
soak with no fault on the pinned ledger counts false failovers.

    .venv/bin/python benchmarks/ledger_hang.py [--drills 20] [--fresh 5] [--hold 30] [--soak 120]
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
from failover_rto import soak  # noqa: E402

from controlplane.application.drills import ledger_hang_drill  # noqa: E402
from controlplane.application.runbooks import pause_automation  # noqa: E402
from controlplane.drills import DrillSettings  # noqa: E402
from controlplane.errors import PlatformError  # noqa: E402
from controlplane.store import Store  # noqa: E402

VARIANTS = {"pinned": {"patroni": "pinned"},
            "debian": {"patroni": "debian", "ttl": 10},
            "unfenced": {"patroni": "pinned"}}
# automation paused: Patroni alone, which is what the runbook did with a hung primary before
# it could fence one (it left it to the lease's expiry); the reference for fencing
PAUSED = {"unfenced"}
ALERTS = ("AcknowledgedOrdersMissing", "LedgerTimelineRegressed")


def one_drill(platform, hold: float, rate: float, paused: bool = False) -> dict:
    settings = DrillSettings(rate=rate, warmup_s=5, settle_s=2, hold_s=hold,
                             max_wait_s=hold + 60, rejoin_wait_s=90, loop_wait_s=60)
    with Store(platform.workspace.store_path) as store:
        if paused:
            pause_automation(store, "benchmark", "the reference: Patroni alone, no fencing")
        started = time.time()
        outcome = asyncio.run(ledger_hang_drill(platform, store, settings))
        time.sleep(12)       # two audit intervals and an alert evaluation after the check
        alerts = sorted({a.alertname for a in store.alert_history(limit=200)
                         if a.alertname in ALERTS and a.first_received_at >= started})
    r = outcome.result()
    r["alerts_received"] = alerts
    r["lock_taken_back"] = any("took the leader lock back" in n for n in outcome.notes)
    r["runbook_state"] = outcome.loop.run_state if outcome.loop else None
    r["fenced"] = _fenced(platform, outcome)
    return r


def _fenced(platform, outcome) -> bool:
    """Whether the runbook fenced the frozen primary (its promote step's record says so)."""
    if not outcome.loop or outcome.loop.run_id is None:
        return False
    with Store(platform.workspace.store_path) as store:
        return any(s.output and s.output.get("fenced") == outcome.target
                   for s in store.runbook_steps(outcome.loop.run_id))


def line(variant: str, i: int, fresh: bool, r: dict) -> str:
    return (f"  {variant} drill {i + 1}{' (fresh cluster)' if fresh else ''}: RPO "
            f"{r['rpo_orders']} of {r['acked_total']}, per node {r['node_missing']}, journals "
            f"{r['journal_missing']}; failover {r['failover_s']} s, RTO {r['rto_s']} s; lock "
            f"taken back: {r['lock_taken_back']}; runbook {r['runbook_state']}; fenced "
            f"{r['fenced']}; alerts "
            f"{r['alerts_received']}; {r['verdict']}")


def run_variant(name: str, drills: int, fresh: int, hold: float, rate: float) -> list[dict]:
    topology = topology_with(VARIANTS[name])
    results = []
    for i in range(min(fresh, drills)):
        with cluster(topology) as platform:
            results.append({"fresh": True, **one_drill(platform, hold, rate,
                                                        name in PAUSED)})
        print(line(name, i, True, results[-1]), flush=True)
    i = fresh
    while i < drills:      # one cluster for the rest, a new one if a drill leaves it unusable
        with cluster(topology) as platform:
            while i < drills:
                try:
                    results.append({"fresh": False, **one_drill(platform, hold, rate,
                                                                 name in PAUSED)})
                except PlatformError as err:     # e.g. no synchronous standby came back
                    print(f"  {name} drill {i + 1}: refused ({err}); starting a new cluster",
                          flush=True)
                    results.append({"fresh": False, "refused": str(err)})
                    i += 1
                    break
                print(line(name, i, False, results[-1]), flush=True)
                i += 1
    return results


def summarise(name: str, all_runs: list[dict]) -> dict:
    runs = [r for r in all_runs if "refused" not in r]
    rto = [r["rto_s"] for r in runs if r["rto_s"] is not None]
    lost = [max([r["rpo_orders"], r["journal_missing"] or 0,
                 *(r["node_missing"] or {}).values()]) for r in runs]
    lossy = [r for r, n in zip(runs, lost, strict=True) if n]
    return {"variant": name, "settings": VARIANTS[name], "drills": len(runs),
            "refused": [r["refused"] for r in all_runs if "refused" in r],
            "fresh_drills": sum(r["fresh"] for r in runs),
            "lost_per_drill": lost, "drills_with_loss": len(lossy),
            "lost_total": sum(lost), "acked_total": sum(r["acked_total"] for r in runs),
            "lock_taken_back": sum(r["lock_taken_back"] for r in runs),
            "lossy_drills_alerted": sum(bool(r["alerts_received"]) for r in lossy),
            "alerts_without_loss": sum(bool(r["alerts_received"]) for r, n
                                       in zip(runs, lost, strict=True) if not n),
            "runbook_states": [r["runbook_state"] for r in runs],
            "fenced": sum(bool(r.get("fenced")) for r in runs),
            "rto_median_s": median(rto), "rto_max_s": max(rto, default=None),
            "failover_median_s": median([r["failover_s"] for r in runs
                                         if r["failover_s"] is not None]),
            "runs": all_runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drills", type=int, default=20)
    parser.add_argument("--reference-drills", type=int, default=None,
                        help="drills of the debian variant [default: --drills]")
    parser.add_argument("--fresh", type=int, default=5)
    parser.add_argument("--hold", type=float, default=30)
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--soak", type=float, default=120)
    parser.add_argument("--variants", default="pinned,debian")
    args = parser.parse_args()
    tempfile.tempdir = "/tmp"
    out = []
    for name in filter(None, args.variants.split(",")):
        n = args.drills if name == "pinned" or args.reference_drills is None \
            else args.reference_drills
        print(f"== {name}: {VARIANTS[name]}, {n} drills, hold {args.hold:g} s", flush=True)
        summary = summarise(name, run_variant(name, n, args.fresh, args.hold, args.rate))
        print(f"  => {name}: {summary['drills_with_loss']} of {summary['drills']} drills lost "
              f"acknowledged orders ({summary['lost_total']} of {summary['acked_total']}); "
              f"RTO median {summary['rto_median_s']:.2f} s, max {summary['rto_max_s']}",
              flush=True)
        out.append(summary)
    soaked = None
    if args.soak:
        with cluster(topology_with(VARIANTS["pinned"])) as platform:
            soaked = soak(platform, args.soak)
        print(f"== soak (pinned, no fault): {soaked}", flush=True)
    save("ledger_hang", {"date": time.strftime("%Y-%m-%d"), "hold_s": args.hold,
                         "rate": args.rate, "variants": out, "soak": soaked})


if __name__ == "__main__":
    main()
