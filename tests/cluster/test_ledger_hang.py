"""The RPO promise under a hang, on a real cluster: a primary frozen past its leader lease and
then resumed loses no acknowledged order, and the control plane's continuous audit pages when
an acknowledged order does go missing.

The module's cluster is freshly started, so the hang drill is its first drill: the case in
which Debian's Patroni 3.0.2 lost acknowledged orders (patroni#2689).
"""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import pytest

from controlplane.application.drills import ledger_hang_drill
from controlplane.drills import DrillSettings
from controlplane.meter import OrderWriter
from controlplane.meter.prices import current_prices
from controlplane.store import Store
from tests.support.net import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]


def _primary(cluster) -> str:
    return wait_for("a ledger primary", lambda: next(
        (i.id for i in cluster.instances("ledger") if i.health.role == "primary"), None),
        timeout=60)


async def _acked_orders(cluster, seconds: float = 2.0) -> list:
    gateway = cluster.instances("gateway")[0].endpoints["http"]
    prices = await current_prices(gateway, ("AAPL", "MSFT"))
    writer = OrderWriter(gateway, 20, symbols=("AAPL", "MSFT"), prices=prices)
    await writer.run(seconds)
    return writer.acked()


async def _take_out(dsn: str, order_ids: list[str]) -> tuple[str, str]:
    """Delete one acknowledged order with no trades by hand; its id and its row as JSON."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "select o.order_id::text as id, row_to_json(o)::text as row from orders o "
            "where o.order_id = any($1::uuid[]) and not exists (select 1 from trades t where "
            "t.buy_order_id = o.order_id or t.sell_order_id = o.order_id) limit 1", order_ids)
        assert row is not None, "every acknowledged order traded; send more"
        await conn.execute("delete from orders where order_id = $1::uuid", row["id"])
        return row["id"], row["row"]
    finally:
        await conn.close()


async def _put_back(dsn: str, row: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("insert into orders select * from json_populate_record("
                           "null::orders, $1::json)", row)
    finally:
        await conn.close()


def test_a_deleted_acknowledged_order_pages_with_its_sequence_id(cluster) -> None:
    """Remove one acknowledged order's row by hand: AcknowledgedOrdersMissing reaches the
    control plane naming that order's sequence id; put it back and the alert resolves."""
    primary = _primary(cluster)
    acked = asyncio.run(_acked_orders(cluster))
    assert len(acked) > 10
    dsn = cluster.ledger_admin_dsn(primary)
    since = time.time()
    order_id, row = asyncio.run(_take_out(dsn, [a.order_id for a in acked]))
    try:
        seq = next(a.ack_seq for a in acked if a.order_id == order_id)

        def paged():
            with Store(cluster.workspace.store_path) as store:
                return next((a for a in store.alert_history(
                    limit=50, alertname="AcknowledgedOrdersMissing")
                    if a.first_received_at >= since and a.status == "firing"), None)
        alert = wait_for("AcknowledgedOrdersMissing at the control plane", paged, timeout=60,
                         interval=0.5)
    finally:
        asyncio.run(_put_back(dsn, row))
    assert str(seq) in alert.labels["seqs"].split(","), alert.labels
    assert alert.labels["first_seq"] == alert.labels["last_seq"] == str(seq)
    assert alert.labels["gateway"] == "gateway-0" and alert.severity == "page"
    assert str(seq) in alert.annotations["summary"]

    def resolved():
        with Store(cluster.workspace.store_path) as store:
            return not any(a.status == "firing" for a in store.firing_alerts()
                           if a.alertname == "AcknowledgedOrdersMissing")
    wait_for("AcknowledgedOrdersMissing to resolve", resolved, timeout=90, interval=1)


async def _missing_on(dsn: str, order_ids: list[str]) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("select order_id::text from orders where order_id = "
                                "any($1::uuid[])", order_ids)
        return sorted(set(order_ids) - {r[0] for r in rows})
    finally:
        await conn.close()


def test_a_hang_past_the_lease_loses_no_acknowledged_order_on_either_node(cluster) -> None:
    """Freeze the primary for 30 s (the lease is 20 s) under 40 orders/s, resume it: Patroni
    promoted the standby meanwhile, the old primary comes back as a standby, and every order
    the meter saw acknowledged is on both nodes, asked with SQL of each."""
    ttl = cluster.topology().services["ledger"].typed_settings().ttl
    hold = ttl + 10
    with Store(cluster.workspace.store_path) as store:
        outcome = asyncio.run(ledger_hang_drill(cluster, store, DrillSettings(
            rate=40, warmup_s=3, settle_s=2, hold_s=hold, max_wait_s=hold + 60)))
        faults = store.open_faults()
    acked = [a.order_id for a in outcome.attempts if a.ok]
    assert len(acked) > 200
    assert outcome.new_primary not in (None, outcome.target)    # a real failover happened
    for node in ("ledger-0", "ledger-1"):
        missing = asyncio.run(_missing_on(cluster.ledger_admin_dsn(node), acked))
        assert missing == [], f"{len(missing)} acknowledged orders missing on {node}"
    assert outcome.rpo.lost == 0 and outcome.journal_missing == 0
    assert outcome.node_missing == {"ledger-0": 0, "ledger-1": 0}
    assert not any("took the leader lock back" in n for n in outcome.notes), outcome.notes
    roles = {i.id: i.health.role for i in cluster.instances("ledger")}
    assert roles[outcome.target] == "sync_standby" and roles[outcome.new_primary] == "primary"
    assert faults == []                                  # the freeze was reverted
    loop = outcome.loop
    assert loop.run_state == "succeeded", (loop.run_error, json.dumps(loop.steps)[:2000])
    done = {s["name"] for s in loop.steps if s["kind"] == "step" and s["state"] == "succeeded"}
    assert {"reconcile-acknowledged-orders", "rejoin-old-primary",
            "reconcile-after-rejoin"} <= done
    with Store(cluster.workspace.store_path) as store:
        promote = [s for s in store.runbook_steps(loop.run_id)
                   if s.name == "promote-sync-standby" and s.state == "succeeded"]
    # hung (silent, lease held), so fenced before its lease was taken, not waited out
    assert promote and promote[0].output["fenced"] == outcome.target, promote
    assert promote[0].output["dead_primary"] == outcome.target


async def _write_straight_to(dsn: str) -> str:
    """Try one write on a node directly (no HAProxy); what happened."""
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as err:
        return f"refused: {type(err).__name__}"
    try:
        await conn.execute("create temporary table fence_probe (x int)", timeout=3)
        await conn.execute("insert into fence_probe values (1)", timeout=3)
        return "written"
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as err:
        return f"refused: {type(err).__name__}"
    finally:
        await conn.close(timeout=3)


def test_a_fenced_primary_takes_no_write_and_the_runbook_fails_over_losing_nothing(
        cluster) -> None:
    """Freeze the primary and fence it: nothing of it is left, a write sent straight to it
    fails, and the ledger-failover runbook (started by hand) promotes the synchronous standby
    at once, rejoins the old node and reconciles every acknowledged order: none missing."""
    from controlplane.application.runbooks import (
        pause_automation,
        resume_automation,
        run_runbook,
    )
    from controlplane.runbooks.model import RUNBOOKS_DIR, load_runbook

    primary = _primary(cluster)
    acked = asyncio.run(_acked_orders(cluster))
    dsn = cluster.ledger_admin_dsn(primary)
    assert asyncio.run(_write_straight_to(dsn)) == "written"
    with Store(cluster.workspace.store_path) as store:     # this test runs the runbook
        pause_automation(store, "test (fence)", "the test starts ledger-failover by hand")
    try:
        cluster.freeze(primary)
        try:
            fenced = cluster.fence(primary)
        finally:
            if cluster.info().known(primary).state == "paused":
                cluster.thaw(primary)
        assert not fenced.running and cluster.confirm_dead(primary).dead
        assert asyncio.run(_write_straight_to(dsn)).startswith("refused")
        run = run_runbook(cluster, load_runbook(RUNBOOKS_DIR / "ledger-failover.yaml"),
                          "test (fence)")
    finally:
        with Store(cluster.workspace.store_path) as store:
            resume_automation(store, "test (fence)")
    with Store(cluster.workspace.store_path) as store:
        steps = {s.name: s for s in store.runbook_steps(run.id)}
    assert run.state == "succeeded", (run.error, {n: s.error for n, s in steps.items()})
    assert steps["promote-sync-standby"].output["dead_primary"] == primary
    assert steps["reconcile-acknowledged-orders"].output["missing"] == 0
    assert steps["reconcile-after-rejoin"].output["missing"] == 0
    missing = asyncio.run(_missing_on(cluster.ledger_admin_dsn(_primary(cluster)),
                                      [a.order_id for a in acked]))
    assert missing == []
    # the platform's health probe follows Patroni's role a probe interval or so behind
    wait_for(f"{primary} back as the synchronous standby", lambda: next(
        (True for i in cluster.instances("ledger")
         if i.id == primary and i.health.role == "sync_standby"), None), timeout=60)
