"""Guardrail rules on their own (no processes): freeze windows, blast radius, error budget,
target locks and policy validation."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controlplane.chaos.guardrails import (
    BlastRadius,
    ErrorBudget,
    Freeze,
    Planned,
    TargetLocks,
    check_blast_radius,
    check_error_budget,
    check_freeze,
    load_policy,
)
from controlplane.errors import GuardrailRefused, InvalidInput

SESSION = Freeze(enabled=True, timezone="America/New_York", holidays=["2026-11-26"],
                 windows=[{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:25",
                           "end": "16:05", "reason": "US equities regular session"}])


def _ny(day: int, hour: int, minute: int = 0) -> datetime:
    # November 2026 is EST (UTC-5): 2026-11-23 is a Monday
    return datetime(2026, 11, day, hour + 5, minute, tzinfo=UTC)


def test_freeze_window_refuses_during_the_session_and_names_the_rule() -> None:
    with pytest.raises(GuardrailRefused) as err:
        check_freeze(SESSION, _ny(23, 10, 30))
    assert err.value.rule == "freeze-window"
    assert "US equities regular session" in str(err.value) and "10:30" in str(err.value)
    assert "Wait for the window to end" in str(err.value)


@pytest.mark.parametrize("when", [_ny(23, 9, 24), _ny(23, 16, 5), _ny(22, 11)])
def test_freeze_window_allows_outside_the_session(when: datetime) -> None:
    check_freeze(SESSION, when)          # before the open, after the close, on a Sunday


def test_holidays_freeze_the_whole_day_and_disabled_freezes_nothing() -> None:
    with pytest.raises(GuardrailRefused, match="holiday"):
        check_freeze(SESSION, _ny(26, 3))
    check_freeze(SESSION.model_copy(update={"enabled": False}), _ny(23, 10))


def test_blast_radius_allows_half_of_a_service_and_always_one() -> None:
    radius = BlastRadius(max_instance_share=0.5, never_all_of=["ledger"])
    check_blast_radius(radius, [Planned("matcher", ["matcher-0"])], {"matcher": 2}, {})
    check_blast_radius(radius, [Planned("gateway", ["gateway-0"])], {"gateway": 1}, {})
    with pytest.raises(GuardrailRefused, match="2 of 2 matcher instances") as err:
        check_blast_radius(radius, [Planned("matcher", ["matcher-0", "matcher-1"])],
                           {"matcher": 2}, {})
    assert err.value.rule == "blast-radius"


def test_never_every_ledger_node_counting_other_runs_faults() -> None:
    radius = BlastRadius(max_instance_share=1.0, never_all_of=["ledger"])
    primary = [Planned("ledger", ["ledger-0"])]
    check_blast_radius(radius, primary, {"ledger": 2}, {})
    with pytest.raises(GuardrailRefused, match="every ledger instance"):
        check_blast_radius(radius, primary, {"ledger": 2}, {"ledger": {"ledger-1"}})
    # a partition between the two nodes hits one of them, not both
    check_blast_radius(radius, [Planned("ledger", ["ledger-0"], "ledger", ("ledger-1",))],
                       {"ledger": 2}, {})


def test_error_budget_gate() -> None:
    budget = ErrorBudget(service="gateway", slo=0.99, window_s=300, min_remaining=0.25)
    assert check_error_budget(budget, 1.0) == 1.0
    assert abs(check_error_budget(budget, 0.995) - 0.5) < 1e-9
    with pytest.raises(GuardrailRefused, match="10% of the gateway error budget") as err:
        check_error_budget(budget, 0.991)
    assert err.value.rule == "error-budget" and "min_remaining" in str(err.value)


def test_target_locks_refuse_a_live_holder_and_clear_a_dead_one(tmp_path: Path) -> None:
    locks = TargetLocks(tmp_path)
    held = locks.acquire("run-a", ["gateway-0"])
    with pytest.raises(GuardrailRefused, match="already the target of run run-a"):
        TargetLocks(tmp_path).acquire("run-b", ["matcher-0", "gateway-0"])
    assert not (tmp_path / "matcher-0.lock").exists()       # all or nothing
    TargetLocks.release(held)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "gateway-0.lock").write_text(f"run-c {dead.pid}")
    assert locks.acquire("run-d", ["gateway-0"])             # a dead runner's lock is stale


def test_policy_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("blast_radius:\n  max_instance_share: 1.5\n")
    with pytest.raises(InvalidInput) as err:
        load_policy(path)
    assert str(path) in str(err.value) and "blast_radius.max_instance_share" in str(err.value)
    path.write_text("freeze:\n  timezone: Mars/Olympus\n")
    with pytest.raises(InvalidInput, match="freeze.timezone.*IANA"):
        load_policy(path)
    assert load_policy().freeze.enabled is False            # the shipped lab policy


@pytest.mark.skipif(os.geteuid() != 0, reason="switches to another user and back")
def test_network_faults_as_non_root_give_a_clear_error_not_a_silent_no_op() -> None:
    from controlplane.errors import PlatformError
    from tests.support.local import Nft

    os.seteuid(65534)                          # nobody, just for this call
    try:
        with pytest.raises(PlatformError, match="network faults need root"):
            Nft.require()
    finally:
        os.seteuid(0)
