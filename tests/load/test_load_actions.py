"""The small platform actions a load run's experiments call with the workspace path
(`controlplane.load.actions`), on a fake cluster recorded in that workspace: each reopens the
platform the workspace names, acts, and answers; an unknown instance is the platform's
NotFound."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.errors import NotFound
from controlplane.load import actions
from tests.support.fake_cluster import fake_cluster


@pytest.fixture()
def state_dir(tmp_path: Path) -> str:
    fake_cluster(tmp_path)
    return str(tmp_path)


def test_pause_and_resume_through_the_workspace(state_dir: str) -> None:
    assert actions.pause_instance(state_dir, "gateway-0")["state"] == "paused"
    assert not actions.instance_ready(state_dir, "gateway-0")
    assert actions.resume_instance(state_dir, "gateway-0")["state"] == "running"
    assert actions.resume_instance(state_dir, "gateway-0")["state"] == "not paused"
    assert actions.wait_ready(state_dir, "gateway-0", timeout_s=5)["ready"]


def test_start_brings_back_a_killed_node_and_leaves_a_running_one(state_dir: str) -> None:
    assert actions.kill_instance(state_dir, "ledger-1")["state"] == "crashed"
    assert actions.start_instance(state_dir, "ledger-1")["state"] == "running"
    assert actions.start_instance(state_dir, "ledger-1")["state"] == "running"
    assert actions.instance_ready(state_dir, "ledger-1")


@pytest.mark.parametrize("act", [actions.resume_instance, actions.start_instance,
                                 actions.pause_instance, actions.instance_ready])
def test_an_unknown_instance_is_not_found(state_dir: str, act) -> None:
    with pytest.raises(NotFound, match="gateway-9"):
        act(state_dir, "gateway-9")
