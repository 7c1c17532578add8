"""The per-test guard of the live fault tests (tests/support/faults.py), on a fake platform:
a fault left open is reverted and fails the test that left it, naming it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from controlplane.chaos import engine
from controlplane.chaos.faults import FAULTS
from controlplane.chaos.faults.base import Evidence, FaultKind, Params
from controlplane.store import Store
from controlplane.workspace import Workspace
from tests.support.faults import check_no_fault_left


@pytest.fixture
def flags(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """A fault kind whose effect is a flag per instance (set: injected)."""
    on: set[str] = set()

    def revert(ctx, target, params, tag) -> None:
        on.difference_update(target.instances)

    def reverted(ctx, target, params, tag) -> Evidence:
        return Evidence(not on & set(target.instances), f"flags: {sorted(on)}")
    monkeypatch.setitem(FAULTS, "test-flag", FaultKind(
        "test-flag", "a flag", Params, (), lambda *a: {}, lambda *a: Evidence(True, ""),
        revert, reverted))
    return on


def _platform(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(workspace=Workspace(tmp_path))


def _left_open(platform: SimpleNamespace, flags: set[str], instance: str) -> int:
    flags.add(instance)
    with Store(platform.workspace.store_path) as store:
        fault = store.record_fault("test-flag", instance, {
            "kind": "test-flag", "params": {},
            "target": {"component": "gateway", "instances": [instance], "kind": "gateway"}})
        store.mark_fault_injected(fault.id, 1.0)
    return fault.id


def test_a_fault_left_open_is_reverted_and_fails_the_test(tmp_path: Path,
                                                          flags: set[str]) -> None:
    platform = _platform(tmp_path)
    fault_id = _left_open(platform, flags, "gateway-0")
    with pytest.raises(pytest.fail.Exception) as failed:
        check_no_fault_left(platform, "tests/x.py::test_y")
    assert str(failed.value) == (
        f"tests/x.py::test_y left 1 fault(s) open:\n  fault {fault_id} (test-flag on "
        "gateway-0, injected): reverted")
    assert flags == set()                              # the effect is gone
    with Store(platform.workspace.store_path) as store:
        assert store.open_faults() == []


def test_a_fault_that_will_not_revert_is_named_as_such(tmp_path: Path, flags: set[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    platform = _platform(tmp_path)
    _left_open(platform, flags, "gateway-1")
    monkeypatch.setattr(engine, "VERIFY_TIMEOUT", 0.0)      # no need to wait for it here
    stuck = FAULTS["test-flag"]
    monkeypatch.setitem(FAULTS, "test-flag", FaultKind(
        stuck.name, stuck.summary, Params, (), stuck.inject, stuck.verify_injected,
        lambda *a: None, stuck.verify_reverted))
    with pytest.raises(pytest.fail.Exception, match=r"injected\): NOT reverted: flags: "
                       r"\['gateway-1'\]"):
        check_no_fault_left(platform, "tests/x.py::test_y")


def test_nothing_open_passes(tmp_path: Path, flags: set[str]) -> None:
    check_no_fault_left(_platform(tmp_path), "tests/x.py::test_y")
