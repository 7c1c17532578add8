"""Users per load-generator worker below 80% CPU with realistic think times, and the workers
a 1,000,000-user run needs.

Runs `controlplane load calibrate retail` (retail traders: browse, trade, cancel, positions,
exponential think times with a mean of 5 s) `--runs` times on a fresh cluster, and computes
`controlplane load plan --users 1000000` from each calibration. Every step is one engine
process: what one worker carries on one core. Figures are medians over the runs; a figure the
calibration had to extrapolate beyond its largest step is labelled so.

    .venv/bin/python benchmarks/load_users_per_worker.py [--steps 500,1000,2000,3000]
        [--step-duration 15] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cluster, median, save, topology_with  # noqa: E402

from controlplane.load.capacity import calibrate  # noqa: E402
from controlplane.load.plan import Basis, make_plan  # noqa: E402
from controlplane.load.profiles import load_profile  # noqa: E402
from controlplane.load.target import gateway_url  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="retail")
    parser.add_argument("--steps", default="500,1000,2000,3000")
    parser.add_argument("--step-duration", type=float, default=15)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=1_000_000)
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    profile = load_profile(args.profile)
    calibrations = []
    with cluster(topology_with()) as platform, \
            tempfile.TemporaryDirectory(dir="/tmp") as work:
        host = gateway_url(platform)
        for n in range(args.runs):
            result = calibrate(profile, host, Path(work) / f"run-{n}", steps,
                               step_s=args.step_duration, ceiling_pct=80.0,
                               note=lambda m, n=n: print(f"run {n + 1}: {m}", flush=True))
            print(f"run {n + 1}: {result['stop']}", flush=True)
            calibrations.append(result)
    fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    plans = [make_plan(args.users, Basis.from_dict(c["basis"]), fd_limit_here=fd_limit)
             for c in calibrations]
    bases = [p.basis for p in plans]
    print(f"\nmedians over {args.runs} calibrations of '{args.profile}' "
          f"({time.strftime('%Y-%m-%d')}), steps {args.steps} x {args.step_duration:g} s:")
    by_users: dict[int, list[dict]] = {}
    for c in calibrations:
        for s in c["steps"]:
            by_users.setdefault(s["users"], []).append(s)
    print("| users | generator CPU | req/s | RSS | connections | errors | p99 (intended) |")
    print("|---|---|---|---|---|---|---|")
    for users, rows in sorted(by_users.items()):
        print(f"| {users} | {median([r['cpu_pct'] for r in rows]):.0f}% | "
              f"{median([r['requests_per_s'] for r in rows]):.0f} | "
              f"{median([r['rss_bytes'] for r in rows]) / 2**20:.0f} MiB | "
              f"{median([r['connections'] for r in rows]):.0f} | "
              f"{median([r['error_ratio'] for r in rows]):.1%} | "
              f"{median([r['p99_ms'] or 0 for r in rows]):.0f} ms |  (n={len(rows)})")
    upw = median([b.users_per_worker for b in bases])
    measured = sum(b.users_per_worker_measured for b in bases)
    print(f"\nusers per worker at 80% CPU: {upw:,.0f} "
          f"({'measured' if measured == len(bases) else 'EXTRAPOLATED'} in "
          f"{len(bases) - measured} of {len(bases)} runs beyond the largest step); "
          f"memory {median([b.bytes_per_user for b in bases]) / 1024:.1f} KiB per user; "
          f"{median([b.requests_per_user_s for b in bases]):.3f} req/s per user")
    print(f"for {args.users:,} users: {median([p.workers for p in plans]):,.0f} workers, "
          f"{median([p.cores for p in plans]):,.0f} cores, "
          f"{median([p.memory_bytes for p in plans]) / 2**30:,.0f} GiB, "
          f"{median([p.masters for p in plans]):.0f} master(s), "
          f"{median([p.source_addresses for p in plans]):.0f} source addresses")
    for note in plans[len(plans) // 2].notes:
        print(f"  - {note}")
    save("load_users_per_worker", {"args": vars(args), "calibrations": calibrations,
                                   "plans": [p.to_dict() for p in plans]})


if __name__ == "__main__":
    main()
