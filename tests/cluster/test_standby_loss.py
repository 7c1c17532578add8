"""A ledger that loses one node without stalling, on a real three-node ledger (quorum commit,
ANY 1 of two standbys) with a three-member etcd: one standby cut off from the primary under
40 orders/s loses no acknowledged order; that it also leaves order p99 under 100 ms holds in
the benchmark, not under CI's load (the xfail below says what was seen)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from controlplane.drills.standby_loss import StandbyLossSettings, standby_loss_drill
from controlplane.platform import Platform
from controlplane.store import Store
from controlplane.topology import DEFAULT_TOPOLOGY, load_topology
from tests.support.cluster import running_cluster
from tests.support.net import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]

THREE_NODE = DEFAULT_TOPOLOGY.with_name("topology.three-node.yaml")


@pytest.fixture(scope="module")
def three_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_cluster(tmp_path_factory, load_topology(THREE_NODE), "three-node") as p:
        yield p


def test_the_cluster_has_three_ledger_nodes_and_three_etcd_members(three_node) -> None:
    assert len(three_node.instances("etcd")) == 3
    want = ["primary", "sync_standby", "sync_standby"]      # both standbys in the quorum
    wait_for("a primary and two quorum standbys", lambda: sorted(
        i.health.role for i in three_node.instances("ledger") if i.health.ready) == want,
        timeout=60)


@pytest.fixture(scope="module")
def cut(three_node) -> tuple[str, dict]:
    """One standby-loss drill on the three-node ledger: (the primary, the drill's figures)."""
    outcome = asyncio.run(standby_loss_drill(
        three_node, three_node.workspace.store_path,
        StandbyLossSettings(rate=40, warmup_s=3, hold_s=15, tail_s=3)))
    return outcome.primary, outcome.result()


def test_a_standby_cut_off_from_the_primary_loses_no_acknowledged_order(
        three_node, cut) -> None:
    primary, r = cut
    assert r["orders_during"] > 500, r
    assert r["rpo_orders"] == 0 and r["acked_total"] > 800, r
    assert set(r["node_missing"].values()) == {0}, r        # the healed standby caught up
    assert r["roles_during"][primary] == "primary"           # no failover: nobody lost etcd
    with Store(three_node.workspace.store_path) as store:
        assert store.open_faults() == []                     # the partition was reverted


@pytest.mark.xfail(strict=False, reason=(
    "known defect, not resolved: in a clean-clone CI run with a one-core burner beside it "
    "(2026-12-04) order p99 during the cut was 1,199 ms against 31.5 ms just before it; the "
    "benchmark on a quieter machine gave 53-98 ms. Not understood yet (issue 12 item 2)"))
def test_a_standby_cut_off_from_the_primary_does_not_stall_orders(cut) -> None:
    _, r = cut
    assert r["outcomes_during"].get("ack", 0) == r["orders_during"], r
    assert r["p99_ms_during"] < 100, r
