"""Catalogue hygiene (issue 12 item 3), over the shipped files: every experiment's runbook tag
names a runbook in runbooks/ or `none`, and every alert rule a runbook answers carries a
`runbook_url` to it (and no other rule does)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from controlplane.application.chaos import validate_experiments
from controlplane.chaos.experiments import (
    EXPERIMENTS_DIR,
    InvalidExperiment,
    load_experiment,
    load_user_experiment,
)
from controlplane.runbooks.links import (
    NO_RUNBOOK,
    RUNBOOKS_DIR,
    alert_runbooks,
    runbook_names,
    runbook_url,
    runbook_urls,
)
from controlplane.slo import load_slos, render_rules

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "policies" / "generated" / "slo-rules.yml"
KILL = EXPERIMENTS_DIR / "gateway" / "process-kill-gateway.json"


def _runbook_tags() -> dict[Path, list[str]]:
    return {path: [t.partition(":")[2] for t in json.loads(path.read_text())["tags"]
                   if t.startswith("runbook:")]
            for path in sorted(EXPERIMENTS_DIR.rglob("*.json"))}


def _alert_rules(text: str) -> dict[str, dict]:
    return {rule["alert"]: rule for group in yaml.safe_load(text)["groups"]
            for rule in group["rules"] if "alert" in rule}


def test_every_experiment_names_a_runbook_that_exists_or_none() -> None:
    known = runbook_names() | {NO_RUNBOOK}
    tags = _runbook_tags()
    assert len(tags) >= 210
    wrong = {str(p.relative_to(ROOT)): t for p, t in tags.items()
             if len(t) != 1 or t[0] not in known}
    assert wrong == {}, f"runbook tags naming no runbook in runbooks/ ({len(wrong)} files)"


def test_the_catalogue_tags_the_runbooks_that_answer_its_faults() -> None:
    used = {t for tags in _runbook_tags().values() for t in tags}
    assert {"ledger-failover", "gateway-restart", "marketdata-stall-recovery",
            "matcher-autoscaling", "load-shedding", NO_RUNBOOK} <= used


def test_every_alert_a_runbook_answers_links_to_it_in_the_committed_rules() -> None:
    rules = _alert_rules(GENERATED.read_text())
    answered = alert_runbooks()
    assert set(answered.values()) == runbook_names()     # every shipped runbook has an alert
    for alert, name in answered.items():
        assert alert in rules, f"runbook {name} is started by {alert}, which no rule defines"
        assert rules[alert]["annotations"]["runbook_url"] == runbook_url(name), alert
    unanswered = {a for a, r in rules.items() if "runbook_url" in r.get("annotations", {})}
    assert unanswered <= set(answered), "a runbook_url on an alert no runbook answers"


def test_runbook_urls_follow_the_base_url_and_leave_the_rule_tables_alone() -> None:
    urls = runbook_urls("https://cp.example.net/")
    assert urls["LedgerNoPrimary"] == "https://cp.example.net/api/v1/runbooks/ledger-failover"
    rules = _alert_rules(render_rules(load_slos(), urls))
    assert rules["MatcherSaturated"]["annotations"]["runbook_url"] == (
        "https://cp.example.net/api/v1/runbooks/matcher-autoscaling")
    assert "runbook_url" not in _alert_rules(render_rules(load_slos()))["LedgerNoPrimary"][
        "annotations"]


def test_a_runbook_folder_with_a_broken_file_still_links_the_others(tmp_path: Path) -> None:
    shutil.copy(RUNBOOKS_DIR / "ledger-failover.yaml", tmp_path)
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    assert alert_runbooks(tmp_path) == {"LedgerNoPrimary": "ledger-failover"}
    assert runbook_names(tmp_path) == {"ledger-failover"}


def test_render_takes_the_base_url_from_the_option(tmp_path: Path) -> None:
    out = tmp_path / "rules.yml"
    result = subprocess.run([sys.executable, "-m", "controlplane", "policies", "render",
                             "--out", str(out), "--runbook-base-url", "https://cp.example.net"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert _alert_rules(out.read_text())["GatewayCrashLoop"]["annotations"]["runbook_url"] == (
        "https://cp.example.net/api/v1/runbooks/gateway-restart")


def _mistagged(tmp_path: Path, name: str) -> Path:
    data = json.loads(KILL.read_text())
    data["tags"] = [f"runbook:{name}" if t.startswith("runbook:") else t for t in data["tags"]]
    path = tmp_path / "mistagged.json"
    path.write_text(json.dumps(data))
    return path


def test_a_catalogue_file_naming_no_runbook_is_refused_naming_file_field_value_and_fix(
        tmp_path: Path) -> None:
    path = _mistagged(tmp_path, "matcher-autoscale")
    with pytest.raises(InvalidExperiment) as err:
        load_experiment(path)
    assert (err.value.source, err.value.field) == (str(path), "tags")
    assert err.value.value == "runbook:matcher-autoscale"
    assert err.value.fix.startswith("Did you mean 'matcher-autoscaling'?")
    assert '"runbook:none"' in err.value.fix
    assert load_experiment(_mistagged(tmp_path, NO_RUNBOOK)).tag("runbook") == NO_RUNBOOK


def test_a_users_file_naming_no_runbook_runs_with_a_notice_and_validates_with_a_warning(
        tmp_path: Path) -> None:
    path = _mistagged(tmp_path, "gateway-restrat")
    _, notices = load_user_experiment(path)
    assert any("runbook:gateway-restrat" in n and "'gateway-restart'" in n for n in notices)
    checked = validate_experiments([str(path)])
    assert checked.ok and "Did you mean 'gateway-restart'?" in checked.warnings[path]
    assert checked.to_dict()["warnings"] == [{"path": str(path),
                                               "warning": checked.warnings[path]}]
    assert validate_experiments([str(KILL)]).warnings == {}
