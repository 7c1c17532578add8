"""The gateway's acknowledgement journal: what it returns, and when it admits it is partial."""

from __future__ import annotations

import pytest

from testbed.gateway.journal import AckJournal


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_acks_since_a_time_in_order_and_complete_when_nothing_was_dropped() -> None:
    clock = Clock()
    j = AckJournal(capacity=10, clock=clock)
    for i in range(5):
        clock.t = 101.0 + i
        j.record(f"o{i}", i + 1)
    got = j.since(103.0)
    assert [a["order_id"] for a in got["acks"]] == ["o2", "o3", "o4"]
    assert got["complete"] and got["covers_from"] == 100.0
    assert not j.since(99.0)["complete"]                     # before the gateway started


def test_a_full_journal_says_which_span_it_still_covers() -> None:
    clock = Clock()
    j = AckJournal(capacity=3, clock=clock)
    for i in range(5):
        clock.t = 101.0 + i
        j.record(f"o{i}", i + 1)
    assert j.since(101.0)["complete"] is False and j.since(101.0)["covers_from"] == 103.0
    assert j.since(103.0)["complete"] is True and j.since(103.0)["count"] == 3
    limited = j.since(103.0, limit=2)
    assert limited["truncated"] and not limited["complete"] and limited["count"] == 2


def test_nonsense_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        AckJournal(capacity=0)
    with pytest.raises(ValueError, match="limit"):
        AckJournal().since(0, limit=0)
