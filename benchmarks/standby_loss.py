"""Standby loss: one synchronous standby partitioned from the ledger primary under 40 orders/s,
two-node ledger against three-node.

Each drill cuts a standby off from the primary (nftables, both ways; both still reach etcd)
for --hold seconds and records the order latency of every write intended during the cut,
answered or not, from its intended send time, and the acknowledged orders missing after it
(through HAProxy, and on each node asked directly). Drills of a variant run one after another
on one cluster, each from full redundancy (every standby synchronous again).

Variants:
    two-node    testbed/topology.yaml: a primary and one synchronous standby (the reference)
    three-node  testbed/topology.three-node.yaml: quorum commit, ANY 1 of two standbys,
                three etcd members (the variant this measures)
    first-one   three nodes, plain synchronous mode with synchronous_node_count 1 (FIRST 1):
                Patroni re-selects the other standby when it sees the named one go

    .venv/bin/python benchmarks/standby_loss.py [--drills 5] [--hold 15] [--variants ...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cluster, median, save  # noqa: E402

from controlplane.drills.standby_loss import StandbyLossSettings, standby_loss_drill  # noqa: E402
from controlplane.errors import PlatformError  # noqa: E402
from controlplane.topology import DEFAULT_TOPOLOGY, Topology, parse_topology  # noqa: E402

THREE_NODE = DEFAULT_TOPOLOGY.with_name("topology.three-node.yaml")
DEFAULT_VARIANTS = "two-node,three-node"
VARIANTS = {"two-node": (DEFAULT_TOPOLOGY, {}),
            "three-node": (THREE_NODE, {}),
            "first-one": (THREE_NODE, {"synchronous_mode": True, "synchronous_node_count": 1})}


def topology(name: str) -> Topology:
    path, ledger = VARIANTS[name]
    data = yaml.safe_load(path.read_text())
    data["services"]["ledger"]["settings"].update(ledger)
    return parse_topology(data, f"{path} (benchmark variant {name})")


def line(name: str, i: int, r: dict) -> str:
    return (f"  {name} drill {i + 1}: {r['standby']} cut off from {r['primary']} for "
            f"{r['hold_s']} s; order p99 {r['p99_ms_during']} ms, p50 {r['p50_ms_during']} "
            f"ms, max {r['max_ms_during']} ms over {r['orders_during']} orders "
            f"(before the cut p99 {r['p99_ms_before']} ms; slowest at s after the cut, ms: "
            f"{r['slowest_at_s']}) "
            f"{r['outcomes_during']}; RPO {r['rpo_orders']} of {r['acked_total']}, per node "
            f"{r['node_missing']}; roles during {r['roles_during']}")


def run_variant(name: str, drills: int, settings: StandbyLossSettings) -> dict:
    started = time.monotonic()
    runs: list[dict] = []
    with cluster(topology(name)) as platform:
        up_s = time.monotonic() - started
        for i in range(drills):
            try:
                r = asyncio.run(standby_loss_drill(platform, platform.workspace.store_path,
                                                   settings, f"bench-{name}-{i}")).result()
            except PlatformError as err:
                print(f"  {name} drill {i + 1}: refused ({err})", flush=True)
                runs.append({"refused": str(err)})
                continue
            runs.append(r)
            print(line(name, i, r), flush=True)
    return {"variant": name, "cluster_up_s": round(up_s, 1), "runs": runs,
            **summarise([r for r in runs if "refused" not in r])}


def summarise(runs: list[dict]) -> dict:
    p99 = [r["p99_ms_during"] for r in runs if r["p99_ms_during"] is not None]
    before = [r["p99_ms_before"] for r in runs if r["p99_ms_before"] is not None]
    return {"drills": len(runs), "p99_ms_median": median(p99),
            "p99_ms_before_median": median(before),
            "p99_ms_max": max(p99) if p99 else None,
            "rpo_orders_max": max((r["rpo_orders"] for r in runs), default=None),
            "node_missing_max": max((max(r["node_missing"].values()) for r in runs),
                                    default=None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drills", type=int, default=5)
    parser.add_argument("--hold", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS)
    args = parser.parse_args()
    settings = StandbyLossSettings(rate=args.rate, warmup_s=5, hold_s=args.hold, tail_s=5)
    results = {}
    for name in args.variants.split(","):
        results[name] = run_variant(name, args.drills, settings)
        r = results[name]
        print(f"{name}: cluster up {r['cluster_up_s']} s; order p99 during the cut, median "
              f"{r['p99_ms_median']} ms (max {r['p99_ms_max']}; before the cut "
              f"{r['p99_ms_before_median']} ms) over {r['drills']} drills; "
              f"RPO max {r['rpo_orders_max']}, per node max {r['node_missing_max']}",
              flush=True)
    if {"two-node", "three-node"} <= set(results):
        ratio = results["two-node"]["p99_ms_median"] / results["three-node"]["p99_ms_median"]
        print(f"two-node / three-node order p99 during the cut (medians): {ratio:.1f}x")
        results["ratio_p99_two_over_three"] = round(ratio, 1)
    suffix = "" if args.variants == DEFAULT_VARIANTS else "-" + args.variants.replace(",", "-")
    save("standby_loss" + suffix, {"args": vars(args), "results": results})


if __name__ == "__main__":
    main()
