"""A ledger that loses one node without stalling, on a real three-node ledger (quorum commit,
ANY 1 of two standbys) with a three-member etcd: one standby cut off from the primary under
40 orders/s leaves order p99 under 100 ms while it lasts, and loses no acknowledged order."""

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


def test_a_standby_cut_off_from_the_primary_neither_stalls_orders_nor_loses_one(
        three_node) -> None:
    outcome = asyncio.run(standby_loss_drill(
        three_node, three_node.workspace.store_path,
        StandbyLossSettings(rate=40, warmup_s=3, hold_s=15, tail_s=3)))
    r = outcome.result()
    assert r["orders_during"] > 500, r
    # Under 100 ms, as the benchmark measures it on a quiet machine. Under CI's own load (a
    # CPU burner beside the suite) the same orders' p99 before the cut has been seen above
    # 100 ms, so the test holds the cut to the machine's own pace then: at most 1.5 times the
    # p99 just before it. A stall is 3 s and more (the two-node ledger: 4.08 s), and fails.
    assert r["p99_ms_during"] < max(100, 1.5 * (r["p99_ms_before"] or 0)), r
    assert r["max_ms_during"] < 2000, r                    # under the 3 s of a stall
    assert r["outcomes_during"].get("ack", 0) == r["orders_during"], r
    assert r["rpo_orders"] == 0 and r["acked_total"] > 800, r
    assert set(r["node_missing"].values()) == {0}, r        # the healed standby caught up
    assert r["roles_during"][outcome.primary] == "primary"   # no failover: nobody lost etcd
    with Store(three_node.workspace.store_path) as store:
        assert store.open_faults() == []                     # the partition was reverted
