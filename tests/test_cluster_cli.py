"""`controlplane cluster ...` on a fake cluster (no processes): `up` records the platform the
topology names, and every later command reopens it from the workspace alone and acts through
the contract (stop, start, pause = freeze, resume = thaw, kill with KILL or TERM, scale)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from controlplane.cli import cli
from controlplane.platform import open_platform
from controlplane.topology import DEFAULT_TOPOLOGY


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    (tmp_path / "fake.yaml").write_text(yaml.safe_dump({**data, "platform": "fake"}))
    up = _cluster(tmp_path / "ws", "up", "--topology", str(tmp_path / "fake.yaml"))
    assert up.exit_code == 0, up.output
    return tmp_path / "ws"


def _cluster(workspace: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["cluster", *args, "--state-dir", str(workspace)],
                              env={"COLUMNS": "200"})


def _state(workspace: Path, instance: str) -> tuple[str, int, str]:
    inst = open_platform(workspace).info().known(instance)
    return inst.state, inst.restarts, inst.incarnation


def test_status_shows_the_fake_cluster_from_the_workspace(workspace: Path) -> None:
    result = _cluster(workspace, "status", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["name"] == "reference-trading" and shown["phase"] == "ready"
    assert {"ledger-0", "gateway-0", "mesh-0"} <= {i["id"] for i in shown["instances"]}


def test_pause_and_resume_freeze_and_thaw(workspace: Path) -> None:
    before = _state(workspace, "gateway-0")
    assert "gateway-0: paused" in _cluster(workspace, "pause", "gateway-0").output
    assert _state(workspace, "gateway-0")[0] == "paused"
    assert "gateway-0: running" in _cluster(workspace, "resume", "gateway-0").output
    assert _state(workspace, "gateway-0") == before


@pytest.mark.parametrize("signal", ["KILL", "term"])
def test_kill_crashes_with_the_signal_and_the_policy_restarts(workspace: Path,
                                                              signal: str) -> None:
    _, restarts, life = _state(workspace, "gateway-0")
    result = _cluster(workspace, "kill", "gateway-0", "--signal", signal)
    assert result.exit_code == 0, result.output
    state, restarts_after, life_after = _state(workspace, "gateway-0")
    assert (state, restarts_after) == ("running", restarts + 1) and life_after != life
    assert _cluster(workspace, "kill", "gateway-0", "--signal", "HUP").exit_code != 0


def test_stop_start_scale_and_down(workspace: Path) -> None:
    assert "gateway-0: stopped (not running)" in _cluster(workspace, "stop", "gateway-0").output
    assert "gateway-0: running (fake/gateway-0)" in _cluster(
        workspace, "start", "gateway-0").output
    assert "started matcher-2" in _cluster(workspace, "scale", "matcher").output
    assert "removed matcher-2" in _cluster(workspace, "scale", "matcher", "--in").output
    assert _cluster(workspace, "down").exit_code == 0
    assert not open_platform(workspace).is_up()


def test_up_with_alertmanager_adds_it_and_later_commands_keep_it(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    (tmp_path / "fake.yaml").write_text(yaml.safe_dump({**data, "platform": "fake"}))
    up = _cluster(tmp_path / "ws", "up", "--topology", str(tmp_path / "fake.yaml"),
                  "--alertmanager")
    assert up.exit_code == 0, up.output
    shown = json.loads(_cluster(tmp_path / "ws", "status", "--json").output)
    assert "alertmanager-0" in {i["id"] for i in shown["instances"]}
