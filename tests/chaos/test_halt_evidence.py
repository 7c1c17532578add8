"""A halt lists every fault that was open when it began, even one its runner reverts the
instant it is signalled. The sink holds the halt right after the signal until the stand-in
runner has reverted and exited: the order a loaded machine can produce (a CI run under a CPU
burner once answered a halt with no fault in it)."""

from __future__ import annotations

from pathlib import Path

from controlplane.application import chaos
from controlplane.application.events import Event
from controlplane.store import db_path
from tests.support.signal_runner import WorkspacePlatform, sleeping_instance, stand_in_runners


def test_a_fault_its_runner_reverts_at_once_is_still_in_the_halts_answer(
        tmp_path: Path) -> None:
    with sleeping_instance(tmp_path) as pid, \
            stand_in_runners(db_path(tmp_path), pid) as start:
        runner, fault_id = start("revert", run_id="20240501T120200-dddddd")
        platform = WorkspacePlatform({"gateway-0": pid}, tmp_path)

        def sink(event: Event) -> None:
            if event.kind == "signalled":
                assert runner.wait(10) == 0          # reverted and gone before the halt goes on
        outcome = chaos.halt(platform, "test", 5.0, sink)  # type: ignore[arg-type]
    assert [(f.fault_id, f.reverted_by, f.verified) for f in outcome.faults] == [
        (fault_id, "runner", True)]
    assert outcome.ok
