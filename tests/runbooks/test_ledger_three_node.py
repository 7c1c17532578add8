"""The ledger actions on a three-node ledger: the sync key lists two standbys and a quorum, so
the fast failover deletes a dead primary's lease only when enough of the listed standbys are
healthy for Patroni's race to end with one holding every acknowledged commit; etcd is asked of
each member in turn. The fake platform plays the three-node cluster; Patroni's roles and
etcd's keys are stand-ins set by each test (the decision, not the probes)."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import pytest

from controlplane.observe.ledger import normalize_role
from controlplane.runbooks.actions import ACTIONS, ActionContext, ActionFailed
from controlplane.runbooks.library import ledger
from controlplane.topology import DEFAULT_TOPOLOGY, load_topology
from tests.support.fake_cluster import fake_cluster

THREE_NODE = DEFAULT_TOPOLOGY.with_name("topology.three-node.yaml")
QUORUM = {"leader": "ledger-0", "sync_standby": "ledger-1,ledger-2", "quorum": 1}
BOTH = {"ledger-0": "unreachable", "ledger-1": "sync_standby", "ledger-2": "sync_standby"}


@pytest.fixture()
def three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """ledger-0, the primary, dead (stopped: confirmed dead); `state` sets the sync key and
    the roles, and records the lease deletions."""
    platform = fake_cluster(tmp_path / "ws", load_topology(THREE_NODE))
    platform.stop("ledger-0")
    state: dict = {"sync": dict(QUORUM), "roles": dict(BOTH), "deleted": []}

    def key_value(ctx, key: str) -> str | None:
        return "ledger-0" if key.endswith("/leader") else json.dumps(state["sync"])

    def etcd(ctx, path: str, key: str) -> dict:
        state["deleted"].append(key)
        return {"deleted": "1"}
    monkeypatch.setattr(ledger, "_key_value", key_value)
    monkeypatch.setattr(ledger, "_etcd", etcd)
    monkeypatch.setattr(ledger, "_roles", lambda ctx: dict(state["roles"]))
    monkeypatch.setattr(ledger, "_get_json", lambda url, timeout=1.0: None)
    monkeypatch.setattr(ledger.time, "sleep", lambda s: None)
    return platform, state


def _failover(platform) -> dict:
    action = ACTIONS["ledger.failover"]
    return action.run(ActionContext(platform), action.params(wait_dead_s=0))


def test_the_fake_three_node_ledger_has_two_quorum_standbys(three) -> None:
    platform, _ = three
    assert len(platform.instances("etcd")) == 3
    assert [i.health.role for i in platform.instances("ledger")][1:] == ["sync_standby"] * 2


def test_with_both_listed_standbys_healthy_the_lease_goes_and_patroni_picks(three) -> None:
    platform, state = three
    out = _failover(platform)
    assert out["lease_deleted"] and out["dead_primary"] == "ledger-0"
    assert out["candidates"] == ["ledger-1", "ledger-2"] and out["candidate"] is None
    assert out["quorum"] == 1
    assert state["deleted"] == ["/controlplane/reference-trading/leader"]


def test_with_one_of_two_quorum_standbys_down_the_lease_is_kept(three) -> None:
    """ANY 1 of two: the healthy one may lack the last commits, which only the other has;
    Patroni needs both to see them, so the lease is left to expire (and the race to Patroni)."""
    platform, state = three
    state["roles"]["ledger-2"] = "unreachable"
    with pytest.raises(ActionFailed, match=r"1 of the listed \['ledger-1', 'ledger-2'\] "
                       r"healthy, the quorum needs 2"):
        _failover(platform)
    assert state["deleted"] == []


def test_a_re_selected_sync_key_of_one_standby_and_quorum_0_promotes_it(three) -> None:
    """After Patroni dropped a lost standby from the set (sync = voters = the other one,
    quorum 0), that one has every commit: the lease goes."""
    platform, state = three
    state["sync"] = {"leader": "ledger-0", "sync_standby": "ledger-1", "quorum": 0}
    state["roles"]["ledger-2"] = "unreachable"
    out = _failover(platform)
    assert out["candidate"] == "ledger-1" and out["lease_deleted"]


def test_first_n_sync_standbys_each_have_every_commit(three) -> None:
    """Plain synchronous mode with two named standbys (FIRST 2, quorum 0): one healthy is
    enough."""
    platform, state = three
    state["sync"] = {"leader": "ledger-0", "sync_standby": "ledger-1,ledger-2"}
    state["roles"]["ledger-1"] = "unreachable"
    out = _failover(platform)
    assert out["candidates"] == ["ledger-2"] and out["lease_deleted"]


def test_an_unlisted_healthy_standby_is_not_a_candidate(three) -> None:
    platform, state = three
    state["sync"] = {"leader": "ledger-0", "sync_standby": "ledger-1", "quorum": 0}
    state["roles"] = {"ledger-0": "unreachable", "ledger-1": "standby",
                      "ledger-2": "sync_standby"}
    with pytest.raises(ActionFailed, match="no healthy synchronous standby"):
        _failover(platform)
    assert state["deleted"] == []


def test_etcd_is_asked_of_each_member_until_one_answers(tmp_path: Path, monkeypatch) -> None:
    platform = fake_cluster(tmp_path / "ws", load_topology(THREE_NODE))
    asked: list[str] = []

    class Answer:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self) -> bytes:
            return b'{"deleted": "1"}'

    def urlopen(req, timeout):
        asked.append(req.full_url)
        if len(asked) < 3:
            raise urllib.error.URLError("connection refused")
        return Answer()
    monkeypatch.setattr(ledger.urllib.request, "urlopen", urlopen)
    out = ledger._etcd(ActionContext(platform), "/v3/kv/deleterange", "/k")
    members = [i.endpoints["client"] for i in platform.instances("etcd")]
    assert out == {"deleted": "1"} and asked == [m + "/v3/kv/deleterange" for m in members]


def test_every_etcd_member_silent_names_them_all(tmp_path: Path, monkeypatch) -> None:
    platform = fake_cluster(tmp_path / "ws", load_topology(THREE_NODE))

    def urlopen(req, timeout):
        raise urllib.error.URLError("connection refused")
    monkeypatch.setattr(ledger.urllib.request, "urlopen", urlopen)
    with pytest.raises(ActionFailed, match="no etcd member answered: etcd-0: .*etcd-2: "):
        ledger._etcd(ActionContext(platform), "/v3/kv/range", "/k")


def test_a_quorum_standby_is_a_sync_standby_to_the_control_plane() -> None:
    assert normalize_role({"role": "replica", "quorum_standby": True}) == "sync_standby"
    assert normalize_role({"role": "replica", "sync_standby": True}) == "sync_standby"
    assert normalize_role({"role": "replica"}) == "standby"
