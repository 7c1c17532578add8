"""A per-test guard for modules that inject faults into a real cluster: after each test, no
fault recorded in the cluster's store may still be open. One that is gets reverted at once (so
it cannot starve the next test) and fails the test that left it, naming it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.store import Store
from controlplane.store.models import Fault

__all__ = ["check_no_fault_left", "describe", "no_fault_left_open", "revert_left_open"]


def describe(fault: Fault) -> str:
    return f"fault {fault.id} ({fault.kind} on {fault.target}, {fault.state})"


def revert_left_open(platform) -> list[str]:
    """Revert every open fault of `platform`'s store; one line per fault that was open."""
    engine = FaultEngine(FaultContext(platform, platform.workspace.store_path))
    with Store(platform.workspace.store_path) as store:
        left = store.open_faults()
    results = engine.recover() if left else {}
    return [f"{describe(f)}: reverted" if results[f.id].ok
            else f"{describe(f)}: NOT reverted: {results[f.id].observed}" for f in left]


def check_no_fault_left(platform, test: str) -> None:
    """Fail `test` (pytest.fail) when a fault is still open, after reverting it."""
    left = revert_left_open(platform)
    if left:
        pytest.fail(f"{test} left {len(left)} fault(s) open:\n  " + "\n  ".join(left),
                    pytrace=False)


@pytest.fixture(autouse=True)
def no_fault_left_open(request: pytest.FixtureRequest) -> Iterator[None]:
    """Only for tests that use the module's `cluster`; the others have no store to check."""
    platform = (request.getfixturevalue("cluster") if "cluster" in request.fixturenames
                else None)
    yield
    if platform is not None:
        check_no_fault_left(platform, request.node.nodeid)
