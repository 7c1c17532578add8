"""Each run's Chaos Toolkit journal is written next to the suite's reports
(`<report dir>/<run id>/journal.json`), as `chaos run` writes it, so Chaos Toolkit's tools
read our runs. No cluster: a suite on the fake platform, and the report writer alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chaoslib.experiment import ensure_experiment_is_valid

from controlplane.chaos.experiments import EXPERIMENTS_DIR
from controlplane.chaos.guardrails import Policy, load_policy
from controlplane.chaos.journal import journal_path, write_journal
from controlplane.chaos.outcome import RunOutcome
from controlplane.chaos.report import write_reports
from controlplane.chaos.suite import run_suite
from controlplane.platform import Platform
from tests.support.fake_cluster import fake_cluster

CATALOGUE_CONFIGURATION = json.loads(
    (EXPERIMENTS_DIR / "gateway" / "process-kill-gateway.json").read_text())["configuration"]
ALWAYS_TRUE = {"type": "probe", "name": "root-exists", "tolerance": True,
               "provider": {"type": "python", "module": "os.path", "func": "isdir",
                            "arguments": {"s": "/"}}}


@pytest.fixture()
def fake(tmp_path: Path) -> Platform:
    return fake_cluster(tmp_path / "ws")


def _quick_policy() -> Policy:
    """No meter, no waiting for SLO history or budget, no freeze window, no cooldown."""
    data = load_policy().model_dump()
    data["load"]["rate"] = 0
    data["freeze"]["enabled"] = False
    data["error_budget"]["min_remaining"] = 0
    data["steady_state"].update(min_history_s=0, cooldown_s=0, recovery_timeout_s=5)
    return Policy.model_validate(data)


def _experiment(tmp_path: Path) -> Path:
    path = tmp_path / "kill-gateway.json"
    path.write_text(json.dumps({
        "version": "1.0.0", "title": "kill a gateway", "description": "journal test",
        "tags": ["fault:process-kill", "component:gateway", "severity:low", "runbook:none"],
        "configuration": CATALOGUE_CONFIGURATION,     # where the runner's state dir goes
        "steady-state-hypothesis": {"title": "always", "probes": [ALWAYS_TRUE]},
        "method": [{"type": "action", "name": "kill-gateway",
                    "provider": {"type": "python", "module": "controlplane.chaos.actions",
                                 "func": "inject_fault",
                                 "arguments": {"kind": "process-kill", "target": "gateway"}}}],
        "rollbacks": [{"type": "action", "name": "revert",
                       "provider": {"type": "python", "module": "controlplane.chaos.actions",
                                    "func": "revert_run_faults"}}],
        "runtime": {"rollbacks": {"strategy": "always"}}}))
    return path


def test_a_suite_writes_each_runs_chaos_toolkit_journal(fake: Platform, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = run_suite(fake, _quick_policy(), [_experiment(tmp_path)], report_dir=reports)
    [run] = result.outcomes
    assert run.state == "passed", run.reason
    path = reports / run.run_id / "journal.json"
    assert result.reports[f"journal {run.run_id}"] == path
    journal = json.loads(path.read_text())
    assert journal["status"] == "completed" and journal["deviated"] is False
    assert [r["activity"]["name"] for r in journal["run"]] == ["kill-gateway"]
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["revert"]
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    ensure_experiment_is_valid(journal["experiment"])      # chaoslib reads it back
    summary = json.loads(result.reports["json"].read_text())["runs"][0]
    assert summary["journal"] == f"{run.run_id}/journal.json"


def test_a_run_chaoslib_never_played_has_no_journal(tmp_path: Path) -> None:
    refused = RunOutcome("r-refused", "x.json", "refused one", [], "refused", "halted")
    paths = write_reports([refused], tmp_path, "s1")
    assert set(paths) == {"json", "junit", "html"}
    assert not (tmp_path / "r-refused").exists()


def test_a_journal_is_written_as_chaos_run_writes_it(tmp_path: Path) -> None:
    when = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    path = write_journal({"status": "completed", "start": when, "output": b"x"},
                         journal_path(tmp_path, "run-1"))
    assert path == tmp_path / "run-1" / "journal.json"
    assert json.loads(path.read_text()) == {"status": "completed",
                                            "start": "2026-11-24T09:30:00+00:00",
                                            "output": "b'x'"}
