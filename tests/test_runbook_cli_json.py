"""`controlplane runbook list|show|actions|status --json`: stdout is one JSON document and
nothing else, for the shipped runbooks, the action registry, recorded runs and one run's
steps; before anything ran it is an empty document, and an unknown run exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from controlplane.cli import cli
from controlplane.store import Store
from controlplane.workspace import Workspace


def _json(*args: str) -> Any:
    result = CliRunner().invoke(cli, ["runbook", *args, "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def test_list_json_has_every_shipped_runbook() -> None:
    doc = _json("list")
    by_name = {r["name"]: r for r in doc["runbooks"]}
    gateway = by_name["gateway-restart"]
    assert gateway["trigger"]["alert"] == "GatewayCrashLoop"
    assert gateway["steps"] == ["stop", "start", "verify-orders", "tell-on-call"]
    assert gateway["template_labels"] == ["instance_id"] and gateway["file"].endswith(
        "runbooks/gateway-restart.yaml")
    assert by_name["load-shedding"]["mode"] == "approval"


def test_show_json_is_the_runbook_with_effective_approvals() -> None:
    doc = _json("show", "load-shedding")
    assert doc["name"] == "load-shedding" and doc["file"].endswith("load-shedding.yaml")
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["shed-quotes"]["needs_approval"] is True
    assert steps["tell-on-call"]["needs_approval"] is False
    assert steps["shed-quotes"]["rollback"] == {"action": "traffic.unshed", "params": {}}
    assert "histogram_quantile" in steps["shed-quotes"]["verify"]["promql"]


def test_actions_json_lists_parameters_and_checks() -> None:
    actions = {a["name"]: a for a in _json("actions")["actions"]}
    assert actions["platform.restart"]["parameters"] == ["instance"]
    assert actions["platform.restart"]["checks_only"] is False
    assert actions["probe.canary_order"]["checks_only"] is True
    assert "severity" in actions["notify"]["params_schema"]["properties"]


def _recorded(tmp_path: Path) -> int:
    with Store(Workspace(tmp_path).store_path) as store:
        run = store.start_runbook_run("gateway-restart", "gateway", "operator:alice",
                                      {"manual": True, "labels": {"instance_id": "gateway-1"}})
        step = store.start_step(run.id, 0, "stop", "step", "platform.stop", "operator:alice",
                                {"instance": "gateway-1"})
        store.finish_step(step.id, "succeeded", {"instance": "gateway-1", "running": False})
        store.set_run_state(run.id, "failed", "step start failed")
        store.set_automation_paused(True, "operator:bob", "patching")
        return run.id


def test_status_json_lists_runs_and_the_pause(tmp_path: Path) -> None:
    run_id = _recorded(tmp_path)
    doc = _json("status", "--state-dir", str(tmp_path))
    assert doc["automation"]["paused"] is True and doc["automation"]["reason"] == "patching"
    [run] = doc["runs"]
    assert (run["id"], run["runbook"], run["state"], run["error"]) == (
        run_id, "gateway-restart", "failed", "step start failed")
    assert run["trigger"]["labels"] == {"instance_id": "gateway-1"}
    assert run["started_at_iso"].endswith("Z")


def test_status_json_of_one_run_has_its_steps(tmp_path: Path) -> None:
    run_id = _recorded(tmp_path)
    doc = _json("status", str(run_id), "--state-dir", str(tmp_path))
    assert doc["run"]["id"] == run_id
    [step] = doc["steps"]
    assert (step["name"], step["state"], step["actor"]) == ("stop", "succeeded",
                                                            "operator:alice")
    assert step["input"] == {"instance": "gateway-1"} and step["output"]["running"] is False
    assert step["took_s"] >= 0


def test_status_json_before_anything_ran_is_an_empty_document(tmp_path: Path) -> None:
    state = tmp_path / "never-used"
    doc = _json("status", "--state-dir", str(state))
    assert doc["runs"] == [] and doc["automation"]["paused"] is False
    assert not state.exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "controlplane", "runbook", *args],
                          capture_output=True, text=True, timeout=60)


def test_status_of_an_unknown_run_exits_2_naming_it(tmp_path: Path) -> None:
    _recorded(tmp_path)
    for extra in ((), ("--json",)):
        result = _cli("status", "999", "--state-dir", str(tmp_path), *extra)
        assert result.returncode == 2, result.stderr
        assert "RUN_ID: no such run (got 999)" in result.stderr and result.stdout == ""
        assert "Traceback" not in result.stderr
