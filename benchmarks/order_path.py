"""Order path at fixed arrival rates: achieved rate and acknowledgement latency.

For each rate, the meter's open-model writer sends limit orders that cross (so the matcher
trades) through the gateway; latency runs from the intended send time to the acknowledgement,
which the gateway only gives after the ledger's synchronous commit.

Reference, measured in the same run at the same rates and with the same open-model harness: a
bare durable commit (one INSERT, synchronous replication) through HAProxy, with no services in
the path. The ratio shows what gateway, risk checks and matcher add on top of durability.

    .venv/bin/python benchmarks/order_path.py [--rates 50,100,200,400] [--duration 15] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cluster, median, save, topology_with  # noqa: E402

from controlplane.meter import OrderWriter, latency_summary, percentile  # noqa: E402

SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN")     # both matcher shards


async def order_run(gateway: str, rate: float, duration: float) -> dict[str, float]:
    prices = {"AAPL": "190.00", "MSFT": "410.00", "NVDA": "120.00", "AMZN": "185.00"}
    writer = OrderWriter(gateway, rate, symbols=SYMBOLS, prices=prices, timeout=10)
    attempts = await writer.run(duration)
    lat = latency_summary(attempts)
    return {"offered": rate, "achieved": len(writer.acked()) / duration,
            "errors": sum(1 for a in attempts if not a.ok), "mean_ms": lat.mean_ms,
            "p50_ms": lat.p50_ms, "p99_ms": lat.p99_ms}


async def commit_run(dsn: str, rate: float, duration: float) -> dict[str, float]:
    """The same open-model schedule, each arrival one INSERT ... COMMIT through HAProxy."""
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=32)
    await pool.execute("create table if not exists bench_commit (id bigserial primary key, "
                       "at double precision, payload text)")
    latencies: list[float] = []
    errors = 0
    start = time.time()

    async def one(intended: float) -> None:
        nonlocal errors
        try:
            await pool.execute("insert into bench_commit (at, payload) values ($1, $2)",
                               intended, "x" * 64)
            latencies.append((time.time() - intended) * 1000)
        except (asyncpg.PostgresError, OSError):
            errors += 1

    tasks = []
    n = 0
    while (intended := start + n / rate) - start < duration:
        await asyncio.sleep(max(0.0, intended - time.time()))
        tasks.append(asyncio.create_task(one(intended)))
        n += 1
    await asyncio.gather(*tasks)
    await pool.execute("drop table bench_commit")
    await pool.close()
    return {"offered": rate, "achieved": len(latencies) / duration, "errors": errors,
            "mean_ms": sum(latencies) / len(latencies) if latencies else math.nan,
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: median([r[k] for r in runs]) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="50,100,200,400")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    rows = []
    with cluster(topology_with()) as platform:
        gateway = platform.instances("gateway")[0].endpoints["http"]
        dsn = platform.ledger_dsn()
        asyncio.run(order_run(gateway, 20, 3))                     # warm caches and pools
        for rate in rates:
            orders, commits = [], []
            for _ in range(args.runs):                             # interleaved, same load
                orders.append(asyncio.run(order_run(gateway, rate, args.duration)))
                commits.append(asyncio.run(commit_run(dsn, rate, args.duration)))
            row = {"rate": rate, "order_path": summarize(orders),
                   "bare_commit": summarize(commits)}
            row["p50_ratio"] = row["order_path"]["p50_ms"] / row["bare_commit"]["p50_ms"]
            rows.append(row)
            o, c = row["order_path"], row["bare_commit"]
            print(f"{rate:6.0f}/s  orders: achieved {o['achieved']:.1f}/s p50 {o['p50_ms']:.1f} "
                  f"p99 {o['p99_ms']:.1f} mean {o['mean_ms']:.1f} ms, errors {o['errors']:.0f} | "
                  f"bare commit: p50 {c['p50_ms']:.1f} p99 {c['p99_ms']:.1f} ms | "
                  f"p50 ratio {row['p50_ratio']:.1f}x", flush=True)
    save("order_path", {"date": time.strftime("%Y-%m-%d"), "duration_s": args.duration,
                        "runs": args.runs, "rows": rows})


if __name__ == "__main__":
    main()
