"""The failover drill's fault is a crash, on the fake platform (no processes): the primary dies
by SIGKILL, as the drill's record says, never by a shutdown it could clean up after (a
graceful stop releases Patroni's leader key, so the standby promotes itself before the alert
fires and the closed loop is never exercised). The fault is recorded before it is injected."""

from __future__ import annotations

import asyncio
from pathlib import Path

from controlplane.drills.ledger_failover import LedgerFailoverDrill, _describe
from controlplane.drills.model import DrillSettings
from controlplane.store import Store
from tests.support.fake_cluster import fake_cluster

SIGKILL_EXIT = -9


def test_the_drill_kills_the_primary_with_sigkill_after_recording_it(tmp_path: Path) -> None:
    platform = fake_cluster(tmp_path)
    with Store(platform.workspace.store_path) as store:
        drill = LedgerFailoverDrill(platform, store, DrillSettings())
        cluster = _describe(platform.info(), None)
        record = store.create_drill("ledger-failover", cluster.primary, {})
        fault, fault_at = asyncio.run(drill._inject(record.id, cluster))
        kept = store.get_fault(fault.id)
    killed = platform.info().known(cluster.primary)
    assert killed.exit_code == SIGKILL_EXIT and not killed.running
    assert kept is not None and kept.kind == "process-kill" and kept.target == cluster.primary
    assert kept.injected_at == fault_at
