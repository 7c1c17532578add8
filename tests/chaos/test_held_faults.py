"""Held hang experiments (issue 16): generated for the ledger primary at 5, 15, 30 and 60 s,
guarded against a halt only, and refused by a policy that does not allow holding a fault.
The held runs themselves need the cluster: `controlplane chaos run tag=guard:hold`."""

from __future__ import annotations

from pathlib import Path

from controlplane.chaos.catalogue import HOLD_TAG, build_experiments, load_matrix
from controlplane.chaos.guardrails import load_policy
from controlplane.chaos.runner import HaltOnlyGuard

ROOT = Path(__file__).resolve().parents[2]


def test_the_catalogue_holds_the_primary_hang_for_5_15_30_and_60_s() -> None:
    held = {p: e for p, e in build_experiments(load_matrix(ROOT / "experiments" /
                                                           "_catalogue.yaml")).items()
            if HOLD_TAG in e["tags"]}
    durations = sorted(e["method"][0]["provider"]["arguments"]["parameters"]["duration_s"]
                       for e in held.values())
    assert durations == [5, 15, 30, 60]
    for path, exp in held.items():
        assert path.startswith("ledger/process-pause-ledger-primary-held-")
        assert exp["method"][0]["provider"]["arguments"]["target"] == "ledger:primary"
        assert "runbook:ledger-failover" in exp["tags"]
        assert exp["runtime"]["rollbacks"]["strategy"] == "always"
        assert (ROOT / "experiments" / path).is_file()


def _guard(halted: bool) -> HaltOnlyGuard:
    failing = {"steady-state-hypothesis": {"title": "never holds", "probes": [
        {"type": "probe", "name": "always-false", "tolerance": True,
         "provider": {"type": "python", "module": "builtins", "func": "bool",
                      "arguments": {}}}]}}
    return HaltOnlyGuard(failing, {}, {}, 0.1, lambda *a: None, lambda: {},
                         lambda: halted)


def test_a_held_runs_guard_ignores_a_breached_steady_state() -> None:
    assert _guard(halted=False)._check() is None


def test_a_held_runs_guard_still_reverts_on_a_halt() -> None:
    reason = _guard(halted=True)._check()
    assert reason is not None and reason["why"] == "halted"


def test_the_lab_allows_holding_and_production_does_not() -> None:
    assert load_policy(ROOT / "policies" / "chaos-guardrails.yaml").steady_state.allow_hold
    production = load_policy(ROOT / "policies" / "chaos-guardrails.production.yaml")
    assert production.steady_state.allow_hold is False
