"""The GameDay use case: a short list of chaos experiments, one per kind of trouble, run in a
row under the guardrails once the order latency window has settled.

It is the chaos use case (`run_experiments`) with a fixed list and a settle step, so the demo,
a scheduled job or the service run the same thing and get the same suite record.
"""

from __future__ import annotations

import time
from pathlib import Path

from controlplane.application.chaos import run_experiments
from controlplane.application.events import Event, EventSink, discard
from controlplane.chaos.experiments import EXPERIMENTS_DIR
from controlplane.chaos.guardrails import Policy, load_policy
from controlplane.chaos.suite import SuiteResult
from controlplane.drills.autoscale_slo import gateway_p99_ms
from controlplane.observe.prometheus import PrometheusClient
from controlplane.platform.base import Platform

__all__ = ["GAMEDAY", "run_gameday", "settle"]

# One experiment per kind of trouble, each a few tens of seconds.
GAMEDAY = [
    "gateway/process-kill-gateway.json",
    "matcher/process-pause-matcher-0-5s.json",
    "gateway/network-latency-gateway-matcher-0-20s-100ms.json",
    "matcher/app-errors-matcher-0-20s-err0p1.json",
    "marketdata/marketdata-stall-marketdata-10s.json",
    "ledger/ledger-replication-pause-ledger-standby-10s.json",
]


def settle(platform: Platform, sink: EventSink = discard, limit_ms: float = 4000,
           wait_s: float = 45) -> bool:
    """Wait until slow answers (a failover's, say) have left the 15 s latency window the
    experiments' steady-state probes read; otherwise the first experiment is (rightly) skipped.
    Whether it settled within `wait_s`."""
    prom = PrometheusClient(platform.instances("prometheus")[0].endpoints["http"], timeout=3)
    deadline = time.time() + wait_s
    while time.time() < deadline:
        p99 = gateway_p99_ms(prom, time.time(), 15)
        if p99 is None or p99 < limit_ms:              # None: no orders in the window
            return True
        sink(Event("gameday", "settling", f"waiting for the order latency window to settle "
                   f"(p99 {p99:.0f} ms)", data={"p99_ms": p99, "limit_ms": limit_ms}))
        time.sleep(1)
    return False


def run_gameday(platform: Platform, sink: EventSink = discard, policy: Policy | None = None,
                experiments: list[str] | None = None, report_dir: Path | None = None
                ) -> SuiteResult:
    """Settle, then run the GameDay's experiments; the suite result (its id and every run's
    outcome). Progress is the chaos use case's events, each carrying its run's id."""
    paths = [EXPERIMENTS_DIR / p for p in (experiments or GAMEDAY)]
    sink(Event("gameday", "started", f"GameDay: {len(paths)} chaos experiments under traffic",
               data={"experiments": [str(p) for p in paths]}))
    settle(platform, sink)
    return run_experiments(platform, policy or load_policy(), paths, report_dir=report_dir,
                           sink=sink)
