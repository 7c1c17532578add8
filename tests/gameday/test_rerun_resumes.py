"""Re-running the same `gameday run` after its process died resumes that GameDay rather than
starting another; a row that had started but noted no run yet is interrupted with no faults.
In-process on the fake platform: the dead process is a finished `true`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from controlplane.application import unattended
from controlplane.chaos.guardrails import load_policy
from controlplane.errors import Refused
from controlplane.store import Store
from tests.gameday.support import quick_policy, three_experiments
from tests.support.fake_cluster import fake_cluster


def test_the_same_targets_again_resume_the_dead_gameday(tmp_path: Path) -> None:
    fake = fake_cluster(tmp_path / "ws")
    paths = three_experiments(tmp_path / "exps")
    policy = quick_policy(tmp_path / "policy.yaml")
    gone = subprocess.Popen(["true"])
    gone.wait()
    targets = [str(tmp_path / "exps")]
    with Store(fake.workspace.store_path) as store:
        store.start_gameday("gameday-crashed", targets, str(policy),
                            [str(p) for p in paths], str(tmp_path / "reports"), gone.pid)
        store.start_gameday_experiment("gameday-crashed", 0)
    result = unattended.start(fake, load_policy(policy), policy, targets)
    assert result.gameday.id == "gameday-crashed" and result.interrupted == [0]
    assert [e.state for e in result.gameday.experiments] == ["interrupted", "passed", "passed"]
    assert result.gameday.experiments[0].fault_ids == []
    with Store(fake.workspace.store_path) as store:
        assert len(store.gamedays()) == 1 and store.open_faults() == []


def test_a_live_gameday_is_not_overlapped(tmp_path: Path) -> None:
    fake = fake_cluster(tmp_path / "ws")
    three_experiments(tmp_path / "exps")
    policy = quick_policy(tmp_path / "policy.yaml")
    with Store(fake.workspace.store_path) as store:
        store.start_gameday("gameday-live", ["other"], str(policy), ["x.json"],
                            str(tmp_path), os.getpid())
    with pytest.raises(Refused, match="gameday-live is running"):
        unattended.start(fake, load_policy(policy), policy, [str(tmp_path / "exps")])
