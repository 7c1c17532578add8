"""Which calibration a capacity plan rests on: a file, the latest measured here, or the one
shipped with the project (the README's example needs no cluster), and the plan says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlplane.errors import InvalidInput
from controlplane.load import calibrations
from controlplane.load.plan import Basis, make_plan
from controlplane.store import Store
from controlplane.store.load_runs import LoadRecords
from tests.load.conftest import run_cli

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_plans_from_the_shipped_calibration(tmp_path: Path) -> None:
    example = "controlplane load plan --users 1000000 --profile retail"
    assert example in README.read_text()
    result = run_cli(*example.split()[1:], "--state-dir", str(tmp_path / "state"),
                     cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "shipped: loadtests/calibration/retail.json, measured 2026-11-24" in result.stdout
    assert "128 (one per core)" in result.stdout        # the README's published plan
    as_json = run_cli(*example.split()[1:], "--json", "--state-dir", str(tmp_path / "state"),
                      cwd=tmp_path, timeout=60)
    plan = json.loads(as_json.stdout)
    assert plan["basis_source"]["kind"] == "shipped" and plan["workers"] == 128


def test_the_shipped_calibration_names_its_date_source_and_caveat() -> None:
    data = json.loads((calibrations.SHIPPED_DIR / "retail.json").read_text())
    origin = data["shipped"]
    assert origin["measured_on"] == "2026-11-24"
    assert origin["source"] == "benchmarks/load_users_per_worker.py"
    assert (README.parents[0] / origin["source"]).is_file()
    assert "EXTRAPOLATED" in origin["caveat"]
    plan = make_plan(1_000_000, Basis.from_dict(data["basis"]))
    assert (plan.workers, plan.cores, plan.masters, plan.source_addresses) == (128, 129, 1, 36)
    assert round(plan.memory_bytes / 2**30) == 51       # "about 51 GiB" in the README


def _calibrate_here(root: Path, users_per_worker: float) -> None:
    shipped = calibrations.shipped("retail")
    assert shipped is not None
    basis = shipped.basis.__dict__ | {"users_per_worker": users_per_worker}
    root.mkdir(parents=True)
    with Store(root / "controlplane.db") as store:
        LoadRecords(store).add_calibration("retail", {"profile": "retail", "basis": basis})


def test_a_calibration_measured_here_comes_before_the_shipped_one(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _calibrate_here(state, users_per_worker=1000.0)
    result = run_cli("load", "plan", "--users", "10000", "--profile", "retail", "--json",
                     "--state-dir", str(state), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["basis_source"]["kind"] == "measured here" and plan["workers"] == 10
    assert "calibration #1 in this state directory's store" in plan["basis_source"]["detail"]


def test_a_calibration_file_of_another_profile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"profile": "spike", "basis": {}}))
    with pytest.raises(InvalidInput, match="not 'retail'"):
        calibrations.from_file(path, "retail")


def test_a_calibration_file_without_its_basis_figures_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"profile": "retail", "basis": {"users_per_worker": 10}}))
    with pytest.raises(InvalidInput, match="its basis lacks"):
        calibrations.from_file(path, "retail")
