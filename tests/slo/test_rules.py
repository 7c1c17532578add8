"""SLO policies and the Prometheus rules made from them, checked by promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from controlplane.errors import InvalidInput
from controlplane.runbooks.links import runbook_urls
from controlplane.slo import load_slos, render_rules
from controlplane.slo.model import DEFAULT_SLOS

POLICIES = DEFAULT_SLOS.parent
GENERATED = POLICIES / "generated" / "slo-rules.yml"


def test_rendered_rules_pass_promtool_check(tmp_path: Path) -> None:
    out = tmp_path / "rules.yml"
    out.write_text(render_rules(load_slos()))
    result = subprocess.run(["promtool", "check", "rules", str(out)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_rules_match_the_policy() -> None:
    assert GENERATED.read_text() == render_rules(load_slos(), runbook_urls())


def test_our_promtool_unit_tests_pass() -> None:
    files = sorted(str(p) for p in (POLICIES / "tests").glob("*.test.yml"))
    assert len(files) >= 2
    result = subprocess.run(["promtool", "test", "rules", *files],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_slo_gets_four_burn_rate_alerts_and_a_budget() -> None:
    rules = yaml.safe_load(render_rules(load_slos()))
    by_group = {g["name"]: g["rules"] for g in rules["groups"]}
    burn = by_group["slo-burn-rate-alerts"]
    assert len(burn) == 4 * len(load_slos().slos)
    severities = {r["labels"]["severity"] for r in burn}
    assert severities == {"page", "warning"}
    records = {r["record"] for r in by_group["slo-recordings"]}
    assert {"slo:error_budget_remaining:ratio", "slo:error_budget_remaining:minutes"} <= records
    symptoms = {r["alert"]: r for r in by_group["symptom-alerts"]}
    assert all(int(r["for"].rstrip("s")) <= 30 for r in symptoms.values())  # 30 s target


BAD = [
    ("objective: 1.5", "slos.0.objective"),
    ("objective: 0.99\n    indicator: {}", "slos.0.indicator"),
    ("objective: 0.99\n    indicator: {freshness: {gauge: 'x y', threshold_s: 5}}",
     "slos.0.indicator.freshness"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_bad_slo_files_name_the_file_and_field(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(f"slos:\n  - name: x1\n    service: gateway\n    {body}\n")
    with pytest.raises(InvalidInput) as err:
        load_slos(path)
    assert str(path) in str(err.value) and field in str(err.value)


def test_budget_minutes_are_the_share_left_of_the_allowed_bad_minutes() -> None:
    """99.99% over 30 days allows 4.32 bad minutes; the record scales that by the share left."""
    rules = yaml.safe_load(render_rules(load_slos()))
    records = {(r["record"], r["labels"]["slo"]): r["expr"]
               for g in rules["groups"] if g["name"] == "slo-recordings" for r in g["rules"]}
    expr = records[("slo:error_budget_remaining:minutes", "order-availability")]
    assert expr.endswith("* 4.32"), expr
    assert records[("slo:error_budget_remaining:minutes", "order-latency")].endswith("* 432")


def _render(*args: str) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run([sys.executable, "-m", "controlplane", "policies", "render", *args],
                          capture_output=True, text=True, timeout=120)


def test_render_into_a_directory_writes_slo_rules_yml_there(tmp_path: Path) -> None:
    result = _render("--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slo-rules.yml"]
    assert f"wrote {tmp_path / 'slo-rules.yml'} " in result.stdout.replace("\n", "")
    assert (tmp_path / "slo-rules.yml").read_text() == render_rules(load_slos(), runbook_urls())
    assert _render("--check", "--out", str(tmp_path)).returncode == 0


def test_check_against_a_directory_without_rules_exits_2_with_a_message(tmp_path) -> None:
    result = _render("--check", "--out", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "the rules file does not exist" in result.stderr and "Traceback" not in result.stderr
