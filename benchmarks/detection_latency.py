"""Detection latency: from fault injection to the alert *received by the control plane*, over
repeated injections per fault, under steady order traffic (20 orders/s, open model).

    fault                          alert it must raise      the alert's own floor
    gateway-0 stopped              OrderEntryDown           for: 3s (+ 1 s scrape and eval)
    matcher-0 stopped              OrderWritesFailing       for: 5s over a 10 s rate window
    market data stalled            MarketDataStale          quote age > 5 s, for: 5s
    (ledger primary killed         LedgerNoPrimary          see closed_loop_failover.py)

The path measured is the whole of it: Prometheus scrape (1 s) -> rule evaluation (1 s) ->
`for` -> Prometheus's notifier -> POST /api/v2/alerts on the control-plane service -> stored.
Automation is paused, so no runbook acts and each fault is reverted by the benchmark.

    .venv/bin/python benchmarks/detection_latency.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cluster, median, save, topology_with  # noqa: E402

from controlplane.chaos.engine import FaultContext, FaultEngine  # noqa: E402
from controlplane.meter import OrderWriter  # noqa: E402
from controlplane.meter.prices import current_prices  # noqa: E402
from controlplane.store import Store  # noqa: E402


def _stop(instance: str):
    def inject(platform, engine):
        platform.stop(instance)
        return lambda: platform.start(instance)
    return inject


def _stall(platform, engine):
    fault = engine.inject("marketdata-stall", "marketdata", {"duration_s": 60}, run_id="bench")
    return lambda: engine.revert(fault.id)


CASES = [("gateway-0 stopped", "OrderEntryDown", _stop("gateway-0")),
         ("matcher-0 stopped", "OrderWritesFailing", _stop("matcher-0")),
         ("market data stalled", "MarketDataStale", _stall)]


def wait_alert(store: Store, alert: str, since: float, timeout: float = 90) -> float | None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [a.first_received_at for a in store.alert_history(limit=50, alertname=alert)
               if a.first_received_at >= since]
        if got:
            return min(got)
        time.sleep(0.1)
    return None


def wait_clear(store: Store, alert: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and any(a.alertname == alert for a in store.firing_alerts()):
        time.sleep(0.5)
    time.sleep(3)                                   # let the rate windows forget the fault


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tempfile.tempdir = "/tmp"
    results = []
    with cluster(topology_with()) as platform, Store(platform.workspace.store_path) as store:
        store.set_automation_paused(True, "benchmark", "detection only; faults reverted here")
        engine = FaultEngine(FaultContext(platform, platform.workspace.store_path))
        gateway = platform.instances("gateway")[0].endpoints["http"]
        symbols = ("AAPL", "MSFT")
        prices = asyncio.run(current_prices(gateway, symbols))
        budget = len(CASES) * args.repeats * 150
        writer = OrderWriter(gateway, 20, symbols=symbols, prices=prices)
        load = threading.Thread(target=lambda: asyncio.run(writer.run(budget)), daemon=True)
        load.start()
        time.sleep(15)                              # rate windows full of healthy traffic
        try:
            for name, alert, inject in CASES:
                seen = []
                for i in range(args.repeats):
                    at = time.time()
                    revert = inject(platform, engine)
                    try:
                        got = wait_alert(store, alert, at)
                    finally:
                        revert()
                    seen.append(None if got is None else round(got - at, 3))
                    print(f"  {name} {i + 1}/{args.repeats}: {alert} at the control plane "
                          f"after {seen[-1]} s", flush=True)
                    wait_clear(store, alert)
                ok = [s for s in seen if s is not None]
                results.append({"fault": name, "alert": alert, "seconds": seen,
                                "median_s": median(ok), "max_s": max(ok, default=None),
                                "missed": len(seen) - len(ok)})
                print(f"  => {name}: median {median(ok):.2f} s, max {max(ok, default=0):.2f} s,"
                      f" missed {len(seen) - len(ok)}", flush=True)
        finally:
            writer.stop()
            load.join(30)
            store.set_automation_paused(False, "benchmark")
    save("detection_latency", {"date": time.strftime("%Y-%m-%d"), "repeats": args.repeats,
                               "cases": results})


if __name__ == "__main__":
    main()
