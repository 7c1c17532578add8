"""The runbooks' platform actions (start, stop, restart, wait_ready) on the fake platform: what
each does to an instance's life, the no-op answers, and an unknown instance failing the run
with the platform's NotFound rather than crashing the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.errors import NotFound
from controlplane.platform import Platform
from controlplane.runbooks import library  # noqa: F401 (registers the built-in actions)
from controlplane.runbooks.actions import ACTIONS, ActionContext, ActionFailed
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import Runbook
from controlplane.store import Store
from tests.support.fake_cluster import fake_cluster


@pytest.fixture()
def platform(tmp_path: Path) -> Platform:
    return fake_cluster(tmp_path / "ws")


def _run(name: str, platform: Platform, **params) -> dict:
    registered = ACTIONS[name]
    return registered.run(ActionContext(platform), registered.params(**params))


def _life(platform: Platform, instance_id: str) -> str:
    return platform.info().known(instance_id).incarnation


def test_start_brings_back_a_crashed_node_and_leaves_a_running_one_alone(
        platform: Platform) -> None:
    running = _life(platform, "ledger-1")
    assert _run("platform.start", platform, instance="ledger-1")["note"] == "already running"
    assert _life(platform, "ledger-1") == running
    platform.kill("ledger-0")                                # restart: never
    out = _run("platform.start", platform, instance="ledger-0")
    assert (out["instance"], out["running"], out["handle"]) == ("ledger-0", True,
                                                                "fake/ledger-0")


def test_restart_is_a_new_life_not_a_crash(platform: Platform) -> None:
    before = platform.info().known("gateway-0")
    out = _run("platform.restart", platform, instance="gateway-0")
    after = platform.info().known("gateway-0")
    assert out["running"] and after.incarnation not in ("", before.incarnation)
    assert after.restarts == before.restarts                 # the policy did not act
    _run("platform.stop", platform, instance="gateway-0")
    assert not platform.info().known("gateway-0").running
    assert _run("platform.restart", platform, instance="gateway-0")["running"]


def test_wait_ready_answers_for_a_ready_instance_and_fails_for_a_stopped_one(
        platform: Platform) -> None:
    assert _run("platform.wait_ready", platform, instance="matcher-0") == {"ready": "matcher-0"}
    platform.stop("matcher-0")
    with pytest.raises(ActionFailed, match="not ready within"):
        _run("platform.wait_ready", platform, instance="matcher-0", timeout_s=0.3)


@pytest.mark.parametrize("name", ["platform.start", "platform.stop", "platform.restart"])
def test_an_unknown_instance_is_the_platforms_not_found(platform: Platform, name: str) -> None:
    with pytest.raises(NotFound, match="gateway-9"):
        _run(name, platform, instance="gateway-9")


def test_a_runbook_naming_an_unknown_instance_fails_its_step_with_the_reason(
        platform: Platform, tmp_path: Path) -> None:
    rb = Runbook.model_validate({
        "name": "typo", "description": "d", "target": "gateway", "expected_rto_s": 5,
        "steps": [{"name": "start", "action": "platform.start",
                   "params": {"instance": "gateway-9"}}]})
    with Store(tmp_path / "controlplane.db") as store:
        engine = RunbookEngine(platform, store, poll_s=0.01)
        run = engine.start_manual(rb, "tester")
        assert run is not None
        done = engine.execute(run, rb)
        steps = store.runbook_steps(run.id)
    assert done.state in ("failed", "rolled_back")
    failed = [s for s in steps if s.kind == "step"]
    assert [(s.name, s.state) for s in failed] == [("start", "failed")]
    assert "unknown instance 'gateway-9'" in (failed[0].error or "")
