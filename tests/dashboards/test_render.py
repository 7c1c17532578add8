"""The committed dashboards are what the generator writes, `dashboards render` and its
--check and --json, and every query names a metric that exists: an SLO recording rule, a
trading service's metric (testbed/, the fault proxy) or an evidence metric."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from click.testing import CliRunner

from controlplane.cli import cli
from controlplane.dashboards import BOARDS, DASHBOARDS_DIR, panel_queries, render_all
from controlplane.observe.evidence_metrics import METRIC_NAMES

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {"sum", "rate", "histogram_quantile", "vector", "by", "or", "avg_over_time", "le"}
_DEFINED = re.compile(r'(Counter|Gauge|Histogram)\(\s*"([a-z_:]+)"')


def known_metrics() -> set[str]:
    rules = yaml.safe_load((ROOT / "policies/generated/slo-rules.yml").read_text())
    names = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    names |= set(METRIC_NAMES) | {"controlplane_runbook_run_duration_seconds_sum",
                                  "controlplane_runbook_run_duration_seconds_count"}
    sources = [*ROOT.glob("testbed/**/*.py"),
               *ROOT.glob("controlplane/platform/local/faultproxy/*.py")]
    for path in sources:
        for kind, name in _DEFINED.findall(path.read_text()):
            names.add(name if kind != "Counter" or name.endswith("_total") else name + "_total")
            if kind == "Histogram":
                names |= {name + "_bucket", name + "_sum", name + "_count"}
    return names


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, ranges, by() lists and
    strings removed)."""
    bare = re.sub(r'\{[^}]*\}|\[[^\]]*\]|"[^"]*"|by \([^)]*\)', " ", expr)
    return {w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare) if w not in FUNCTIONS}


def test_the_committed_json_is_what_the_generator_writes() -> None:
    rendered = render_all()
    assert sorted(rendered) == sorted(f"{n}.json" for n in BOARDS)
    for name, text in rendered.items():
        assert (DASHBOARDS_DIR / name).read_text() == text, \
            f"dashboards/{name} is stale: run `controlplane dashboards render`"


def test_every_query_names_a_metric_that_exists() -> None:
    known = known_metrics()
    for name, text in render_all().items():
        for title, expr in panel_queries(json.loads(text)):
            unknown = metrics_in(expr) - known
            assert not unknown, f"{name}: panel {title!r} queries unknown {unknown}: {expr}"


def test_every_panel_has_a_query_on_the_datasource_variable() -> None:
    for name, text in render_all().items():
        doc = json.loads(text)
        assert doc["uid"].startswith("cp-") and doc["templating"]["list"][0]["name"] == \
            "datasource"
        for panel in doc["panels"]:
            assert panel["targets"], f"{name}: {panel['title']} has no query"
            assert {t["datasource"]["uid"] for t in panel["targets"]} == {"${datasource}"}


def test_render_writes_and_check_finds_stale_files(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["dashboards", "render", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)["dashboards"]
    assert [Path(r["path"]).name for r in records] == [f"{n}.json" for n in BOARDS]
    assert sum(r["panels"] for r in records) == 37
    ok = runner.invoke(cli, ["dashboards", "render", "--out", str(tmp_path), "--check"])
    assert ok.exit_code == 0, ok.output
    (tmp_path / "slos.json").write_text("{}")
    stale = runner.invoke(cli, ["dashboards", "render", "--out", str(tmp_path), "--check",
                                "--json"])
    assert stale.exit_code == 1
    assert json.loads(stale.output) == {"stale": [str(tmp_path / "slos.json")]}


def test_the_metric_scan_finds_a_made_up_name() -> None:
    assert metrics_in('sum by (job) (rate(no_such_metric_total{code=~"5.."}[1m]))') == {
        "no_such_metric_total"}
    assert "no_such_metric_total" not in known_metrics()
