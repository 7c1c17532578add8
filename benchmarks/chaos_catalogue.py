"""Catalogue throughput: the wall time to run every experiment in experiments/ once, and the
share of experiments whose faults were all verified reverted (target 100%).

Runs the whole catalogue with the lab guardrails (policies/chaos-guardrails.yaml) and the
meter, against one fresh cluster, and writes the suite's JSON/JUnit/HTML reports next to the
figures. Expect it to take a couple of hours.

    .venv/bin/python benchmarks/chaos_catalogue.py [--select fault=process-kill] [--limit N]
                                                   [--every K]   # a spread sample: every K-th
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, cluster, save, topology_with  # noqa: E402

from controlplane.chaos.experiments import EXPERIMENTS_DIR, select  # noqa: E402
from controlplane.chaos.guardrails import load_policy  # noqa: E402
from controlplane.chaos.suite import run_suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--select", default=str(EXPERIMENTS_DIR))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--every", type=int, default=1,
                        help="run every K-th experiment of the sorted catalogue (a sample "
                             "spread over every component and fault kind)")
    args = parser.parse_args()
    paths = select(args.select)[:: max(1, args.every)]
    if args.limit:
        paths = paths[: args.limit]
    started = time.time()
    done = Counter()

    def progress(kind: str, out, message: str) -> None:
        if kind == "run_finished":
            done[out.state] += 1
            print(f"[{sum(done.values())}/{len(paths)} {time.time() - started:6.0f} s] "
                  f"{out.state:<8} {out.title} {'' if out.all_reverted else 'NOT REVERTED'}",
                  flush=True)
    with cluster(topology_with()) as platform:
        result = run_suite(platform, load_policy(), paths, progress=progress,
                           report_dir=RESULTS / f"chaos-catalogue-{time.strftime('%Y%m%d')}")
    wall = time.time() - started
    reverted = sum(o.all_reverted for o in result.outcomes)
    injected = [o for o in result.outcomes if o.faults]
    summary = {"experiments": len(result.outcomes), "every": args.every,
               "catalogue": len(select(args.select)), "wall_s": round(wall),
               "mean_experiment_s": round(wall / max(1, len(result.outcomes)), 1),
               "states": dict(Counter(o.state for o in result.outcomes)),
               "all_faults_verified_reverted": reverted,
               "share_reverted": reverted / len(result.outcomes),
               "experiments_with_faults": len(injected),
               "failed_reasons": {o.title: o.reason for o in result.outcomes
                                  if o.state != "passed"},
               "reports": {k: str(v) for k, v in result.reports.items()}}
    print(f"{len(result.outcomes)} experiments in {wall / 60:.1f} min; states "
          f"{summary['states']}; faults verified reverted in {reverted}/{len(result.outcomes)}")
    save("chaos_catalogue", {"date": time.strftime("%Y-%m-%d"), **summary})


if __name__ == "__main__":
    main()
