"""Catalogue throughput: the wall time to run every experiment in experiments/ once, and the
share of experiments whose faults were all verified reverted (target 100%).

Runs the whole catalogue with the lab guardrails (policies/chaos-guardrails.yaml) and the
meter, against one fresh cluster, and writes the JSON/JUnit/HTML reports next to the figures.
By default it runs as `controlplane gameday run` does (one unattended GameDay: progress in the
store, waits between experiments driven by the next one's steady state); `--runner suite` runs
the older guarded suite (`chaos run` on many files: a fixed cooldown after each fault).

    .venv/bin/python benchmarks/chaos_catalogue.py [--select fault=process-kill] [--limit N]
                                                   [--every K]   # a spread sample: every K-th
                                                   [--runner gameday|suite]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, cluster, save, topology_with  # noqa: E402

from controlplane.application import unattended  # noqa: E402
from controlplane.application.events import Event  # noqa: E402
from controlplane.chaos.experiments import EXPERIMENTS_DIR, select  # noqa: E402
from controlplane.chaos.guardrails import DEFAULT_POLICY, load_policy  # noqa: E402
from controlplane.chaos.suite import run_suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--select", default=str(EXPERIMENTS_DIR))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--every", type=int, default=1,
                        help="run every K-th experiment of the sorted catalogue (a sample "
                             "spread over every component and fault kind)")
    parser.add_argument("--runner", choices=("gameday", "suite"), default="gameday")
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

    def sink(event: Event) -> None:
        if event.kind == "run_finished":
            done[event.data["state"]] += 1
            print(f"[{sum(done.values())}/{len(paths)} {time.time() - started:6.0f} s] "
                  f"{event.data['state']:<8} {event.data['title']}  {event.data['reason'] or ''}",
                  flush=True)
    report_dir = RESULTS / f"chaos-catalogue-{time.strftime('%Y%m%d')}"
    with cluster(topology_with()) as platform:
        up = time.time() - started
        if args.runner == "suite":
            result = run_suite(platform, load_policy(), paths, progress=progress,
                               report_dir=report_dir)
        else:
            result = _gameday(platform, paths, report_dir, sink)
    wall = time.time() - started
    reverted = sum(o.all_reverted for o in result.outcomes)
    injected = [o for o in result.outcomes if o.faults]
    summary = {"runner": args.runner, "cluster_up_s": round(up, 1),
               "experiments": len(result.outcomes), "every": args.every,
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


class _Outcome:
    """A GameDay row in the shape the summary reads from a suite's outcomes."""

    def __init__(self, row) -> None:
        self.title = row.experiment.rsplit("/", 1)[-1]
        self.state = row.state
        self.reason = row.reason
        self.faults = row.fault_ids
        self.all_reverted = row.reverted is not False


class _Result:
    def __init__(self, result: unattended.GameDayResult) -> None:
        self.outcomes = [_Outcome(e) for e in result.gameday.experiments]
        self.reports = result.reports


def _gameday(platform, paths, report_dir: Path, sink) -> _Result:
    result = unattended.start(platform, load_policy(), DEFAULT_POLICY,
                              [str(p) for p in paths], report_dir=report_dir, sink=sink)
    return _Result(result)


if __name__ == "__main__":
    main()
