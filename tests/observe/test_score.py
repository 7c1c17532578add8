"""The resilience score's definition (README, controlplane/observe/score.py) on worked
examples: a third per piece of evidence, unmeasured earns nothing, 25% decay per 30 days,
a subject counts once by its latest run, the 365-day window, and no evidence scores 0."""

from __future__ import annotations

import pytest

from controlplane.observe.score import DAY_S, Evidence, decay, earned, resilience_score

NOW = 1_800_000_000.0


def run(subject: str = "drill:ledger-failover", age_days: float = 0.0, *, faults: int = 1,
        reverted: int = 1, rto_s: float | None = 12.0, rpo: float | None = 0.0,
        rto_target: float = 300.0) -> Evidence:
    return Evidence(subject, NOW - age_days * DAY_S, faults, reverted, rto_s, rpo,
                    rto_target_s=rto_target)


def test_a_fresh_run_with_all_three_pieces_of_evidence_scores_100() -> None:
    assert earned(run()) == 1.0
    assert resilience_score([run()], NOW) == 100.0


@pytest.mark.parametrize(("evidence", "share"), [
    (run(reverted=0), 2 / 3),                 # a fault left unverified
    (run(faults=0, reverted=0), 2 / 3),       # no fault recorded: no revert shown
    (run(rto_s=None), 2 / 3),                 # RTO not measured earns nothing
    (run(rto_s=301.0), 2 / 3),                # RTO over its target
    (run(rto_s=20.0, rto_target=15.0), 2 / 3),  # the run's own target is used
    (run(rpo=1.0), 2 / 3),                    # one acknowledged order lost
    (run(rto_s=None, rpo=None), 1 / 3),       # a chaos run without load: the revert only
])
def test_each_piece_of_evidence_earns_a_third(evidence: Evidence, share: float) -> None:
    assert earned(evidence) == pytest.approx(share)


def test_evidence_decays_25_percent_per_30_days() -> None:
    assert decay(30 * DAY_S) == pytest.approx(0.75)
    assert decay(60 * DAY_S) == pytest.approx(0.5625)
    assert decay(-5.0) == 1.0                 # a clock skewed ahead never scores above 100
    assert resilience_score([run(age_days=30)], NOW) == pytest.approx(75.0)


def test_a_subject_counts_once_by_its_latest_run() -> None:
    old_pass, new_fail = run(age_days=10), run(age_days=1, rpo=3.0)
    assert resilience_score([old_pass, new_fail], NOW) == pytest.approx(
        100 * 2 / 3 * decay(DAY_S))


def test_the_score_is_the_mean_over_subjects() -> None:
    drill = run()                                             # earns 1
    chaos = run("chaos:network-delay", rto_s=None, rpo=None)  # earns 1/3
    assert resilience_score([drill, chaos], NOW) == pytest.approx(100 * (1 + 1 / 3) / 2)


def test_runs_older_than_the_365_day_window_do_not_count() -> None:
    assert resilience_score([run(age_days=366)], NOW) == 0.0
    edge = resilience_score([run(age_days=364)], NOW)
    assert 2.5 < edge < 3.5                  # about 3% left at the edge: no cliff


def test_no_evidence_scores_zero() -> None:
    assert resilience_score([], NOW) == 0.0
