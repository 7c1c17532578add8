"""`ledger.failover` on a primary that is neither dead nor answering: fenced only when its
PostgreSQL and Patroni API are both silent for the whole bound, and the lease deleted only
after the fence. The fake platform plays the cluster; Patroni's roles, etcd's keys and the
node's answers are stand-ins set by each test, so this checks the decision, not the probes
(the cluster test `tests/cluster/test_ledger_fence.py` runs it against real processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.errors import PlatformError
from controlplane.platform import Platform
from controlplane.runbooks.actions import ACTIONS, ActionContext, ActionFailed
from controlplane.runbooks.library import ledger
from tests.support.fake_cluster import fake_cluster

LEASE = {"/leader": "ledger-0", "/sync": '{"leader": "ledger-0", "sync_standby": "ledger-1"}'}


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The fake cluster with ledger-0 the primary holding its lease, frozen (alive to the
    platform, so not confirmed dead); `seen` records etcd deletions and answers to probes."""
    platform = fake_cluster(tmp_path / "ws")
    platform.freeze("ledger-0")
    seen: dict[str, list] = {"deleted": [], "answers": []}
    keys = dict(LEASE)

    def key_value(ctx, key: str) -> str | None:
        return keys.get(key[key.rindex("/"):])

    def etcd(ctx, path: str, key: str) -> dict:
        assert path == "/v3/kv/deleterange"
        seen["deleted"].append((key, platform.confirm_dead("ledger-0").dead))
        return {"deleted": "1"}

    monkeypatch.setattr(ledger, "_key_value", key_value)
    monkeypatch.setattr(ledger, "_etcd", etcd)
    monkeypatch.setattr(ledger, "_roles",
                        lambda ctx: {"ledger-0": "unreachable", "ledger-1": "sync_standby"})
    monkeypatch.setattr(ledger, "_get_json", lambda url, timeout=1.0: None)  # API silent
    monkeypatch.setattr(ledger.time, "sleep", lambda s: None)
    return platform, seen


def _answering(monkeypatch, seen, replies: list[str | None]) -> None:
    """The node's answer to each probe in turn (None: silent), silent after the last."""
    def answers(ctx, node: str, timeout: float) -> str | None:
        seen["answers"].append(node)
        return replies.pop(0) if replies else None
    monkeypatch.setattr(ledger, "_answers", answers)


def _failover(platform: Platform, **params) -> dict:
    action = ACTIONS["ledger.failover"]
    return action.run(ActionContext(platform), action.params(**params))


def _clock(monkeypatch, step: float) -> None:
    now = [0.0]

    def monotonic() -> float:
        now[0] += step
        return now[0]
    monkeypatch.setattr(ledger.time, "monotonic", monotonic)


def test_a_hung_primary_is_fenced_before_its_lease_is_deleted(cluster, monkeypatch) -> None:
    platform, seen = cluster
    _clock(monkeypatch, 0.5)
    _answering(monkeypatch, seen, [])
    out = _failover(platform, wait_dead_s=1, fence_after_s=3)
    assert out["fenced"] == "ledger-0" and out["dead_primary"] == "ledger-0"
    assert "silent for 3 s" in out["fenced_because"]
    assert seen["deleted"] == [("/controlplane/reference-trading/leader", True)]   # dead first
    assert len(seen["answers"]) > 1                      # probed for the whole bound
    assert not platform.info().known("ledger-0").running


def test_a_slow_primary_that_answers_within_the_bound_is_never_fenced(
        cluster, monkeypatch) -> None:
    platform, seen = cluster
    _clock(monkeypatch, 0.5)
    _answering(monkeypatch, seen, [None, None, None, "its PostgreSQL answered"])
    out = _failover(platform, wait_dead_s=1, fence_after_s=3)
    assert out["left_to_patroni"] == "not fencing ledger-0: its PostgreSQL answered"
    assert seen["deleted"] == [] and "fenced" not in out
    assert platform.info().known("ledger-0").running


def test_without_a_fence_bound_a_hung_primary_is_left_to_patroni(cluster, monkeypatch) -> None:
    platform, seen = cluster
    _clock(monkeypatch, 0.5)
    _answering(monkeypatch, seen, [])
    out = _failover(platform, wait_dead_s=1)
    assert out["left_to_patroni"].startswith("not taking ledger-0's lease")
    assert seen == {"deleted": [], "answers": []}
    assert platform.info().known("ledger-0").running


def test_no_fence_when_no_synchronous_standby_could_take_over(cluster, monkeypatch) -> None:
    platform, seen = cluster
    _clock(monkeypatch, 0.5)
    _answering(monkeypatch, seen, [])
    monkeypatch.setattr(ledger, "_roles",
                        lambda ctx: {"ledger-0": "unreachable", "ledger-1": "unreachable"})
    with pytest.raises(ActionFailed, match="no healthy synchronous standby"):
        _failover(platform, wait_dead_s=1, fence_after_s=3)
    assert platform.info().known("ledger-0").running and seen["deleted"] == []


def test_a_fence_that_fails_keeps_the_lease(cluster, monkeypatch) -> None:
    platform, seen = cluster
    _clock(monkeypatch, 0.5)
    _answering(monkeypatch, seen, [])

    def fails(instance_id: str):
        raise PlatformError("ledger-0 is not fenced after 10 s: 1 process left")
    monkeypatch.setattr(platform, "fence", fails)
    with pytest.raises(ActionFailed, match="could not be fenced: ledger-0 is not fenced"):
        _failover(platform, wait_dead_s=1, fence_after_s=3)
    assert seen["deleted"] == []


def test_a_crash_still_dying_is_not_fenced_once_it_is_dead(cluster, monkeypatch) -> None:
    """Silent from the start, but confirmed dead before the bound: the fast path, no fence."""
    from controlplane.platform.base import DeathCheck

    platform, seen = cluster
    _clock(monkeypatch, 0.5)
    _answering(monkeypatch, seen, [])
    checks = iter([DeathCheck(False, "ledger-0 still has 2 processes")] * 2)
    monkeypatch.setattr(platform, "confirm_dead", lambda node, incarnation="": next(
        checks, DeathCheck(True, "no process of ledger-0 is left")))
    fenced = []
    monkeypatch.setattr(platform, "fence", fenced.append)
    out = _failover(platform, wait_dead_s=3, fence_after_s=3)
    assert out["dead_primary"] == "ledger-0" and "fenced" not in out and fenced == []
    assert seen["deleted"] == [("/controlplane/reference-trading/leader", True)]
