"""The standby-loss drill's arithmetic: what counts as "during the fault", and which ledgers
make every standby synchronous (so a rejoined node must come back as one)."""

from __future__ import annotations

from controlplane.drills.ledger_failover import every_standby_sync
from controlplane.drills.standby_loss import during
from controlplane.meter import Attempt
from controlplane.topology import DEFAULT_TOPOLOGY, load_topology


def _a(n: int, intended: float, latency: float, outcome: str = "ack") -> Attempt:
    return Attempt(n, intended, intended + latency, outcome)


def test_writes_intended_in_the_window_count_whatever_their_outcome() -> None:
    attempts = [_a(0, 9.9, 0.010), *(_a(i, 10 + i / 100, 0.020) for i in range(1, 99)),
                _a(99, 10.99, 5.0, "timeout"), _a(100, 11.0, 9.0), _a(101, 10.5, 0, "skipped")]
    r = during(attempts, 10.0, 11.0)
    assert r["orders_during"] == 99                       # before, after and skipped left out
    assert r["outcomes_during"] == {"ack": 98, "timeout": 1}
    assert r["p50_ms_during"] == 20.0 and r["max_ms_during"] == 5000.0
    assert r["p99_ms_during"] == 5000.0     # nearest rank: of 99 writes the 99th, the timeout


def test_a_stall_shows_in_p99_from_the_intended_time() -> None:
    attempts = [_a(i, 10 + i / 10, 4.0 - i / 10) for i in range(10)]
    assert during(attempts, 10.0, 11.0)["p99_ms_during"] == 4000.0


def test_an_empty_window_has_no_percentiles() -> None:
    assert during([], 0, 1)["p99_ms_during"] is None


def test_quorum_commit_makesevery_standby_synchronous_and_first_n_may_not() -> None:
    three = load_topology(DEFAULT_TOPOLOGY.with_name("topology.three-node.yaml"))
    assert every_standby_sync(three.services["ledger"])
    assert every_standby_sync(load_topology().services["ledger"])        # two-node, FIRST 1
    first_one = three.services["ledger"].model_copy(update={"settings": {
        **three.services["ledger"].settings, "synchronous_mode": True}})
    assert not every_standby_sync(first_one)             # the third node stays async
