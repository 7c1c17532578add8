"""Hosting a Chaos Toolkit experiment in-process: rollbacks always run, and a steady state
that fails before the method is reported as nothing injected."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from controlplane.errors import InvalidInput
from controlplane.load.chaos import ChaosHost, sigusr1_ignored

PROVIDER = "tests.load.chaos_helpers"


def experiment(tmp_path: Path, *, seconds: float, steady_ok: bool = True) -> Path:
    call = {"type": "python", "module": PROVIDER}
    body = {
        "title": "marker experiment",
        "description": "writes files instead of faults",
        "steady-state-hypothesis": {"title": "healthy", "probes": [
            {"type": "probe", "name": "healthy", "tolerance": True,
             "provider": {**call, "func": "healthy", "arguments": {"ok": steady_ok}}}]},
        "method": [{"type": "action", "name": "act",
                    "provider": {**call, "func": "act",
                                 "arguments": {"marker": str(tmp_path / "act"),
                                               "seconds": seconds}}}],
        "rollbacks": [{"type": "action", "name": "revert",
                       "provider": {**call, "func": "revert",
                                    "arguments": {"marker": str(tmp_path / "revert")}}}],
    }
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(body))
    return path


def test_a_completed_experiment_marks_its_window(tmp_path: Path) -> None:
    host = ChaosHost(experiment(tmp_path, seconds=0.2), {}, tmp_path)
    out = host.run()
    assert out.status == "completed" and out.injected and out.rollbacks == 1
    start, end = out.window() or (0, 0)
    assert end - start >= 0.2
    assert (tmp_path / "revert").read_text() == "reverted\n"
    assert json.loads((tmp_path / out.journal).read_text())["status"] == "completed"


def test_an_interrupted_experiment_still_rolls_back(tmp_path: Path) -> None:
    host = ChaosHost(experiment(tmp_path, seconds=5), {}, tmp_path)
    timer = threading.Timer(1.0, host.interrupt, args=("load run stopped: test",))
    started = time.monotonic()
    with sigusr1_ignored():
        timer.start()
        out = host.run()
    assert time.monotonic() - started < 4.5          # it did not wait for the 5 s action
    assert out.status == "interrupted"
    assert out.interrupted_by == "load run stopped: test"
    assert (tmp_path / "revert").read_text() == "reverted\n"   # rollbacks: strategy always
    assert out.window() is not None


def test_a_failed_steady_state_injects_nothing(tmp_path: Path) -> None:
    out = ChaosHost(experiment(tmp_path, seconds=0, steady_ok=False), {}, tmp_path).run()
    assert out.status in ("completed", "failed")     # chaostoolkit does not say "not run"
    assert out.steady_state_before is False
    assert not out.injected and out.window() is None
    assert not (tmp_path / "act").exists()
    assert "nothing was injected" in out.note


def test_interrupt_outside_an_experiment_is_harmless(tmp_path: Path) -> None:
    host = ChaosHost(experiment(tmp_path, seconds=0), {}, tmp_path)
    with sigusr1_ignored():
        assert host.interrupt("nothing running") is False


def test_an_invalid_experiment_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"title": "no method"}))
    with pytest.raises(InvalidInput) as caught:
        ChaosHost(path, {}, tmp_path)
    assert str(path) in str(caught.value)


def test_a_hosted_experiment_obeys_the_chaos_halt(tmp_path: Path) -> None:
    """A load run's experiment goes through the chaos guardrails (here: halt) and records a
    chaos run, so `controlplane chaos halt` and `recover` also cover it."""
    from controlplane.store import Store

    state = tmp_path / "state"
    state.mkdir()
    with Store(state / "controlplane.db") as store:
        store.set_halt(True, "GameDay paused by on-call")
    host = ChaosHost(experiment(tmp_path, seconds=0.1),
                     {"controlplane_state_dir": str(state)}, tmp_path)
    out = host.run()
    assert "refused by guardrail 'halt'" in out.note and "GameDay paused" in out.note
    assert not out.injected and not (tmp_path / "act").exists()
