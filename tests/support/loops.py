"""The market-data stall loop, run for real on a cluster: inject the stall, collect what the
alert and the marketdata-stall-recovery runbook did, and revert the fault whatever happened."""

from __future__ import annotations

import asyncio
import time

from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.drills.loop import LoopEvidence, collect_loop
from controlplane.platform import Platform
from controlplane.store import Store

__all__ = ["marketdata_stall_loop"]


def marketdata_stall_loop(platform: Platform, run_id: str, duration_s: float = 120,
                          wait_s: float = 90) -> tuple[float, LoopEvidence]:
    """(when the stall began, the loop's evidence); the fault is verified injected and
    reverted."""
    engine = FaultEngine(FaultContext(platform, platform.workspace.store_path))
    since = time.time()
    fault = engine.inject("marketdata-stall", "marketdata", {"duration_s": duration_s},
                          run_id=run_id)
    try:
        assert fault.evidence.ok, fault.evidence.observed
        with Store(platform.workspace.store_path) as store:
            loop = asyncio.run(collect_loop(store, "MarketDataStale",
                                            "marketdata-stall-recovery", since, wait_s=wait_s))
    finally:
        reverted = engine.revert(fault.id)
    assert reverted.ok, reverted.observed
    return since, loop
