"""`controlplane chaos validate`, `list`, `faults` and `run` as a new user meets them, without a
cluster: names checked against the topology, every bad file reported with the count, and
`--json` printing one document on stdout and nothing else (issue 14 items 11, 12, 21)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from controlplane.application import chaos as usecases
from controlplane.chaos.experiments import EXPERIMENTS_DIR, InvalidExperiment, select
from controlplane.chaos.faults import FAULTS
from controlplane.chaos.guardrails import load_policy
from controlplane.chaos.outcome import FaultEvidence, RunOutcome
from controlplane.chaos.suite import SuiteResult
from controlplane.store import Store
from controlplane.topology import DEFAULT_TOPOLOGY
from tests.support.fake_cluster import fake_cluster

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = select(str(EXPERIMENTS_DIR))
KILL = EXPERIMENTS_DIR / "gateway" / "process-kill-gateway.json"
LATENCY = EXPERIMENTS_DIR / "gateway" / "network-latency-gateway-matcher-0-20s-100ms.json"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controlplane", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _write(path: Path, source: Path, change) -> Path:
    data = json.loads(source.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))
    return path


def _target(value: str):
    return lambda d: d["method"][0]["provider"]["arguments"].update(target=value)


def _text(stream: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(stream.split())


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


# item 11: the names an experiment uses, against the topology --------------------------------
def test_validate_refuses_a_target_the_topology_lacks_with_a_did_you_mean(
        tmp_path: Path) -> None:
    bad = _write(tmp_path / "typo.json", KILL, _target("gatewya"))
    result = _cli("chaos", "validate", str(bad), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    text = _text(result.stderr)
    assert str(bad) in text and "method[0].provider.arguments.target" in text
    assert "(got 'gatewya')" in text and "Did you mean 'gateway'?" in text
    assert "Valid targets: " in text and "ledger:primary" in text and "matcher-1" in text
    assert "1 of 1 experiments invalid" in text
    _no_traceback(result)


def test_validate_checks_against_the_topology_it_is_given(tmp_path: Path) -> None:
    third = _write(tmp_path / "third-matcher.json", LATENCY, lambda d: d["method"][0][
        "provider"]["arguments"]["parameters"].update(peer="matcher-2"))
    topology = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    topology["services"]["matcher"]["instances"] = 3
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(yaml.safe_dump(topology))
    assert _cli("chaos", "validate", str(third), cwd=tmp_path).returncode == 2
    result = _cli("chaos", "validate", str(third), "--topology", str(bigger), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 experiments valid" in result.stdout


def test_validate_with_a_bad_topology_names_the_topology_file(tmp_path: Path) -> None:
    bad = tmp_path / "topo.yaml"
    bad.write_text("name: t1\nservices:\n  gateway:\n    kind: gatewy\n")
    result = _cli("chaos", "validate", str(KILL), "--topology", str(bad), cwd=tmp_path)
    assert result.returncode == 2 and str(bad) in _text(result.stderr)
    _no_traceback(result)


def test_validate_without_arguments_passes_the_whole_shipped_catalogue(tmp_path: Path) -> None:
    result = _cli("chaos", "validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{len(CATALOGUE)} experiments valid" in result.stdout and len(CATALOGUE) >= 210


# item 12: every bad file, and the count ---------------------------------------------------
def _mixed_directory(tmp_path: Path) -> tuple[Path, list[Path]]:
    folder = tmp_path / "mixed"
    shutil.copytree(EXPERIMENTS_DIR / "gateway", folder)
    total = len(list(folder.glob("*.json")))
    bad = [
        _write(folder / "process-kill-gateway.json", KILL, _target("gatewya")),
        _write(folder / "a-typo.json", KILL, lambda d: d.update(
            {"steady-state-hypotesis": d.pop("steady-state-hypothesis")})),
        _write(folder / "z-tolerance.json", KILL, lambda d: d["steady-state-hypothesis"][
            "probes"][0].update(tolerence=d["steady-state-hypothesis"]["probes"][0].pop(
                "tolerance"))),
    ]
    assert len(list(folder.glob("*.json"))) == total + 2
    return folder, bad


def test_validate_reports_every_bad_file_with_its_error_and_the_count(tmp_path: Path) -> None:
    folder, bad = _mixed_directory(tmp_path)
    total = len(select(str(folder)))
    result = _cli("chaos", "validate", str(folder), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    text = _text(result.stderr)
    for path, says in zip(bad, ("Did you mean 'gateway'?",
                                "Did you mean 'steady-state-hypothesis'?",
                                "Did you mean 'tolerance'?"), strict=True):
        assert f"{path}: " in text and says in text
    assert f"3 of {total} experiments invalid" in text
    assert [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")] == [
        ln for ln in result.stderr.splitlines() if "Did you mean" in ln]     # one line each
    assert len([ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]) == 3
    _no_traceback(result)


def test_run_refuses_a_directory_with_bad_files_saying_how_many(tmp_path: Path) -> None:
    folder, _ = _mixed_directory(tmp_path)
    with pytest.raises(InvalidExperiment, match=r"2 of \d+ experiments invalid: "
                       r"`controlplane chaos validate .*mixed` lists them all"):
        usecases.select_experiments(str(folder))        # without a topology: 2 of the 3


def test_run_checks_the_names_against_the_cluster_it_runs_on(tmp_path: Path) -> None:
    fake = fake_cluster(tmp_path / "ws")
    bad = _write(tmp_path / "typo.json", KILL, _target("matcher-7"))
    with pytest.raises(InvalidExperiment, match=r"arguments.target.*'matcher-7'.*Did you "
                       r"mean 'matcher-1'\?"):
        usecases.run_experiments(fake, load_policy(None), [bad])
    with Store(fake.workspace.store_path) as store:
        assert store.chaos_runs() == [] and store.open_faults() == []


# item 21: --json ------------------------------------------------------------------------
def test_list_json_is_one_document_of_the_catalogue(tmp_path: Path) -> None:
    result = _cli("chaos", "list", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["count"] == len(CATALOGUE) == len(data["experiments"])
    kill = next(e for e in data["experiments"] if e["id"] == "gateway/process-kill-gateway.json")
    assert (kill["fault"], kill["component"], kill["path"]) == (
        "process-kill", "gateway", str(KILL))
    some = json.loads(_cli("chaos", "list", "fault=network-latency", "--json",
                           cwd=tmp_path).stdout)
    assert some["count"] and {e["fault"] for e in some["experiments"]} == {"network-latency"}


def test_faults_json_lists_every_kind_with_its_parameters(tmp_path: Path) -> None:
    result = _cli("chaos", "faults", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    kinds = {k["kind"]: k for k in json.loads(result.stdout)["faults"]}
    assert set(kinds) == set(FAULTS)
    assert "peer" in kinds["network-latency"]["parameters"] and kinds["network-latency"][
        "needs_peer"]
    assert kinds["app-errors"]["applies_to"] == list(FAULTS["app-errors"].components)


def test_validate_json_gives_every_verdict_and_still_exits_2(tmp_path: Path) -> None:
    folder, bad = _mixed_directory(tmp_path)
    result = _cli("chaos", "validate", str(folder), "--json", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr == "", result.stderr
    data = json.loads(result.stdout)
    assert (data["ok"], data["invalid"], data["checked"]) == (False, 3, len(select(str(folder))))
    assert data["summary"] == f"3 of {data['checked']} experiments invalid"
    wrong = {e["path"]: e["error"] for e in data["experiments"] if not e["valid"]}
    assert set(wrong) == {str(p) for p in bad}
    typo = wrong[str(bad[0])]
    assert typo["field"] == "method[0].provider.arguments.target"
    assert typo["value"] == "'gatewya'" and typo["fix"].startswith("Did you mean 'gateway'?")
    good = json.loads(_cli("chaos", "validate", str(KILL), "--json", cwd=tmp_path).stdout)
    assert good["ok"] and good["experiments"] == [
        {"path": str(KILL), "valid": True, "error": None}]


def test_run_json_without_a_cluster_is_the_clear_error_and_no_document(tmp_path: Path) -> None:
    result = _cli("chaos", "run", str(KILL), "--json", "--state-dir", str(tmp_path / "none"),
                  cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert "no cluster is running" in _text(result.stderr) and "cluster up" in _text(
        result.stderr)
    _no_traceback(result)


def test_run_json_with_a_bad_file_exits_2_before_looking_for_a_cluster(tmp_path: Path) -> None:
    bad = _write(tmp_path / "typo.json", KILL, lambda d: d["method"][0].update(
        pause={"after": 1}))
    result = _cli("chaos", "run", str(bad), "--json", "--state-dir", str(tmp_path / "none"),
                  cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert "Did you mean 'pauses'?" in _text(result.stderr)
    _no_traceback(result)


def test_a_suite_result_renders_as_one_json_document(tmp_path: Path) -> None:
    fault = FaultEvidence(7, "process-kill", "gateway", ["gateway-0"], 10.0, 12.5, "reverted",
                          {"ok": True, "observed": "running again"}, None)
    passed = RunOutcome("run-1", str(KILL), "process-kill gateway", ["fault:process-kill"],
                        "passed", "", 1.0, 30.0, [("run_started", 1.0, {"x": 1})], [fault],
                        recovered_at=14.0, rto_s=2.5, rpo_orders=0, acked=40)
    refused = RunOutcome("run-2", str(KILL), "process-kill gateway", [], "refused",
                         "refused by guardrail 'freeze'", 31.0, 31.0)
    result = SuiteResult("20250101T000000-abcd", [passed, refused],
                         {"json": tmp_path / "report.json"}, 1)
    data = json.loads(json.dumps(result.to_dict()))
    assert (data["suite_id"], data["ok"], data["recovered_faults"]) == (
        "20250101T000000-abcd", False, 1)
    assert data["counts"] == {"passed": 1, "refused": 1}
    assert data["reports"] == {"json": str(tmp_path / "report.json")}
    first, second = data["runs"]
    assert (first["run_id"], first["state"], first["rto_s"], first["recovery_s"]) == (
        "run-1", "passed", 2.5, 4.0)
    assert first["faults"][0]["id"] == 7 and first["all_faults_reverted"]
    assert second["reason"] == "refused by guardrail 'freeze'"
