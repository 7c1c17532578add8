"""A user's own Chaos Toolkit file runs under the guardrails as it is (issue 14 item 5): no
`rollbacks.strategy: always`, no tags and no rollbacks are notices, not refusals; rollbacks
always run and the runner reverts what the run injected. Only what the guardrails cannot judge
is refused, saying what to add. No cluster: the fake platform."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from controlplane.chaos.experiments import (
    InvalidExperiment,
    load_any_experiment,
    load_experiment,
)
from controlplane.chaos.suite import run_suite
from controlplane.cli import cli
from controlplane.platform import Platform
from controlplane.store import Store
from tests.chaos.test_journal import ALWAYS_TRUE, CATALOGUE_CONFIGURATION, _quick_policy
from tests.support.fake_cluster import fake_cluster


def _plain(tmp_path: Path, **changes) -> Path:
    """A valid Chaos Toolkit experiment as a user writes one: no tags, no runtime, no
    rollbacks; it kills a gateway through our fault library."""
    data = {
        "version": "1.0.0", "title": "kill a gateway, plainly", "description": "user file",
        "configuration": CATALOGUE_CONFIGURATION,
        "steady-state-hypothesis": {"title": "always", "probes": [ALWAYS_TRUE]},
        "method": [{"type": "action", "name": "kill-gateway",
                    "provider": {"type": "python", "module": "controlplane.chaos.actions",
                                 "func": "inject_fault",
                                 "arguments": {"kind": "process-kill", "target": "gateway"}}}],
        "rollbacks": [], **changes}
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    return path


@pytest.fixture()
def fake(tmp_path: Path) -> Platform:
    return fake_cluster(tmp_path / "ws")


def test_a_plain_file_loads_with_notices_where_the_catalogue_rules_refuse_it(
        tmp_path: Path) -> None:
    path = _plain(tmp_path)
    with pytest.raises(InvalidExperiment):
        load_experiment(path)                         # the catalogue's own rules
    exp, notices = load_any_experiment(path)
    assert exp.title == "kill a gateway, plainly"
    assert any("rollbacks run anyway" in n for n in notices)
    assert any("no fault:, component:, severity:, runbook: tag" in n for n in notices)
    assert any("no rollbacks" in n for n in notices)


def test_a_plain_file_runs_its_rollbacks_always_and_its_fault_is_reverted(
        fake: Platform, tmp_path: Path) -> None:
    result = run_suite(fake, _quick_policy(), [_plain(tmp_path)])
    [run] = result.outcomes
    assert run.state == "passed", run.reason
    notices = [d["message"] for kind, _, d in run.events if kind == "notice"]
    assert len(notices) == 3                          # each said once
    with Store(fake.workspace.store_path) as store:
        assert store.open_faults() == []
        [fault] = store.faults_of_run(run.run_id)
    assert fault.kind == "process-kill" and fault.state == "reverted"


def test_what_the_guardrails_cannot_judge_is_refused_saying_what_to_add(tmp_path: Path) -> None:
    no_hypothesis = _plain(tmp_path, **{"steady-state-hypothesis": None})
    with pytest.raises(InvalidExperiment, match="hypothesis") as err:
        load_any_experiment(no_hypothesis)
    assert "Add a steady-state-hypothesis" in str(err.value)
    result = CliRunner().invoke(cli, ["chaos", "validate", str(no_hypothesis)])
    assert result.exit_code == 2 and str(no_hypothesis) in result.output + str(result.exception)


def test_chaos_validate_accepts_a_plain_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["chaos", "validate", str(_plain(tmp_path))])
    assert result.exit_code == 0, result.output
