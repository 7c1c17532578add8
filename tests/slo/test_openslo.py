"""OpenSLO v1: the shipped policy exported, read back unchanged, rendered to the same rules,
and OpenSLO files we cannot represent refused naming the file, the document and the field."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from controlplane.errors import InvalidInput
from controlplane.slo import load_slos, render_rules
from controlplane.slo.openslo import dump_openslo, from_openslo, to_openslo


def _docs() -> list[dict[str, Any]]:
    return to_openslo(load_slos())


def _write(tmp_path: Path, docs: list[Any], name: str = "openslo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def test_export_of_the_shipped_policy_has_the_required_openslo_fields() -> None:
    docs = list(yaml.safe_load_all(dump_openslo(load_slos())))
    assert [d["metadata"]["name"] for d in docs] == [s.name for s in load_slos().slos]
    for doc in docs:
        assert doc["apiVersion"] == "openslo/v1" and doc["kind"] == "SLO"
        spec = doc["spec"]
        assert {"service", "indicator", "timeWindow", "budgetingMethod", "objectives"} <= set(
            spec)
        assert spec["timeWindow"] == [{"duration": "30d", "isRolling": True}]
        assert spec["budgetingMethod"] in ("Occurrences", "Timeslices")
        assert len(spec["objectives"]) == 1 and 0 < spec["objectives"][0]["target"] < 1
        sli = spec["indicator"]["spec"]
        assert len(set(sli) & {"ratioMetric", "thresholdMetric"}) == 1
        for metric in sli.values():
            sources = [metric[k] for k in ("good", "bad", "total") if k in metric] or [metric]
            for source in sources:
                assert source["metricSource"]["type"] == "Prometheus"
                assert source["metricSource"]["spec"]["query"]


def test_each_indicator_kind_maps_to_its_openslo_shape() -> None:
    by_name = {d["metadata"]["name"]: d["spec"] for d in _docs()}
    ratio = by_name["order-availability"]["indicator"]["spec"]["ratioMetric"]
    assert ratio["counter"] is True and {"bad", "total"} <= set(ratio)
    latency = by_name["order-latency"]["indicator"]["spec"]["ratioMetric"]
    assert 'le="0.1"' in latency["good"]["metricSource"]["spec"]["query"]
    assert 'le="+Inf"' in latency["total"]["metricSource"]["spec"]["query"]
    fresh = by_name["marketdata-freshness"]
    assert fresh["budgetingMethod"] == "Timeslices"
    assert fresh["objectives"][0]["op"] == "lte" and fresh["objectives"][0]["value"] == 5


def test_the_round_trip_gives_the_original_policy() -> None:
    policy = load_slos()
    assert from_openslo(_docs(), "x") == policy
    again = list(yaml.safe_load_all(dump_openslo(policy)))
    assert from_openslo(again, "x") == policy


def test_an_exported_file_loads_and_renders_the_same_rules(tmp_path: Path) -> None:
    path = tmp_path / "slos.openslo.yaml"
    path.write_text(dump_openslo(load_slos()))
    assert load_slos(path) == load_slos()
    assert render_rules(load_slos(path)) == render_rules(load_slos())


def test_a_hand_written_latency_slo_with_le_last_is_read(tmp_path: Path) -> None:
    docs = _docs()
    metric = docs[1]["spec"]["indicator"]["spec"]["ratioMetric"]
    metric["good"]["metricSource"]["spec"]["query"] = 'h_bucket{job="g",le="0.25"}'
    metric["total"]["metricSource"]["spec"]["query"] = 'h_bucket{job="g", le="+Inf"}'
    docs[1]["spec"]["objectives"] = [{"targetPercent": 99.5}]
    slo = load_slos(_write(tmp_path, docs)).slos[1]
    assert slo.indicator.latency is not None
    assert slo.indicator.latency.histogram == 'h_bucket{job="g"}'
    assert slo.indicator.latency.threshold_s == 0.25 and slo.objective == 0.995


def _mutated(change: Any) -> list[dict[str, Any]]:
    docs = copy.deepcopy(_docs())
    change(docs)
    return docs


def _set(index: int, path: str, value: Any) -> Any:
    def change(docs: list[dict[str, Any]]) -> None:
        *parents, last = path.split(".")
        node: Any = docs[index]
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DROP:
            del node[last]
        else:
            node[last] = value
    return change


_DROP = object()
SOURCE = "spec.indicator.spec.ratioMetric.bad.metricSource"
BAD = [
    ("unknown kind", _set(0, "kind", "SLI"), "kind"),
    ("a Service document", _set(2, "kind", "Service"), "kind"),
    ("two objectives", _set(0, "spec.objectives", [{"target": 0.9}, {"target": 0.99}]),
     "spec.objectives"),
    ("calendar window", _set(0, "spec.timeWindow", [{"duration": "1M", "calendar": {
        "startTime": "2020-01-21 12:30:00", "timeZone": "UTC"}}]), "spec.timeWindow"),
    ("months", _set(0, "spec.timeWindow", [{"duration": "1M", "isRolling": True}]),
     "spec.timeWindow.0.duration"),
    ("two windows", _set(1, "spec.timeWindow", [{"duration": "7d", "isRolling": True}]),
     "spec.timeWindow.0.duration"),
    ("non-Prometheus source", _set(0, f"{SOURCE}.type", "Datadog"), SOURCE),
    ("a metricSourceRef", _set(0, f"{SOURCE}.metricSourceRef", "prom"), SOURCE),
    ("missing spec", _set(0, "spec", _DROP), "spec"),
    ("an indicatorRef", _set(0, "spec.indicatorRef", "errors"), "spec.indicatorRef"),
    ("other apiVersion", _set(0, "apiVersion", "openslo/v2alpha"), "apiVersion"),
    ("a raw ratio", _set(0, "spec.indicator.spec.ratioMetric.raw", {}),
     "spec.indicator.spec.ratioMetric.raw"),
    ("good/total not a histogram", _set(0, "spec.indicator.spec.ratioMetric", {
        "counter": True, "good": {"metricSource": {"type": "Prometheus", "spec": {
            "query": "ok_total"}}}, "total": {"metricSource": {"type": "Prometheus",
                                                                "spec": {"query": "all"}}}}),
     "spec.indicator.spec.ratioMetric.good"),
    ("ratio by time slices", _set(0, "spec.budgetingMethod", "Timeslices"),
     "spec.budgetingMethod"),
    ("a bad name", _set(0, "metadata.name", "Orders!"), "metadata.name"),
    ("objective of 1", _set(0, "spec.objectives.0.target", 1), "spec.objectives.0.target"),
    ("gte freshness", _set(2, "spec.objectives.0.op", "gte"), "spec.objectives.0.op"),
    ("a bad selector", _set(0, f"{SOURCE}.spec.query", "sum(rate(x[5m]))"),
     "spec.indicator.spec"),
]


@pytest.mark.parametrize(("change", "field"), [pytest.param(c, f, id=i) for i, c, f in BAD])
def test_openslo_we_cannot_represent_is_refused_naming_file_and_field(
        tmp_path: Path, change: Any, field: str) -> None:
    path = _write(tmp_path, _mutated(change))
    with pytest.raises(InvalidInput) as err:
        load_slos(path)
    assert err.value.exit_code == 2
    assert err.value.source == str(path)
    assert err.value.field.split(": ", 1)[1].startswith(field), err.value.field
    assert err.value.field.startswith("document "), err.value.field


def test_the_refusal_names_the_document_by_its_metadata_name(tmp_path: Path) -> None:
    path = _write(tmp_path, _mutated(_set(1, "spec.objectives", [])))
    with pytest.raises(InvalidInput, match=r"document 2 \(order-latency\): spec.objectives"):
        load_slos(path)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"---\n---\n", "holds no value"),
    ("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: caf\xe9}\n".encode("latin-1"),
     "not UTF-8"),
    (b"window: 30d\n---\nwindow: 7d\n", "holds 2 YAML documents"),
])
def test_bad_files_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "slos.yaml"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message) as err:
        load_slos(path)
    assert str(path) in str(err.value)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controlplane", "policies", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_export_writes_openslo_to_stdout_and_to_out(tmp_path: Path) -> None:
    result = _cli("export", "--openslo")
    assert result.returncode == 0, result.stderr
    assert result.stdout == dump_openslo(load_slos())
    out = tmp_path / "sub" / "slos.openslo.yaml"
    result = _cli("export", "--openslo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == dump_openslo(load_slos())
    again = _cli("export", "--openslo", "--slos", str(out))
    assert again.stdout == out.read_text()


def test_cli_render_checks_an_openslo_file_and_refuses_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "slos.openslo.yaml"
    path.write_text(dump_openslo(load_slos()))
    committed = Path(__file__).resolve().parents[2] / "policies/generated/slo-rules.yml"
    assert _cli("render", "--check", "--slos", str(path), "--out",
                str(committed)).returncode == 0
    bad = _write(tmp_path, _mutated(_set(0, "spec.objectives", [{}, {}])), "bad.yaml")
    result = _cli("export", "--openslo", "--slos", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr.replace("\n", "") and "Traceback" not in result.stderr
