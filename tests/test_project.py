"""User files come from the project directory (issue 14 items 15 and 22): the current
directory or its nearest parent holding experiments/, runbooks/, policies/ or loadtests/, or
CONTROLPLANE_PROJECT; each folder a project lacks comes from the shipped defaults, and
`controlplane init DIR` writes a project to edit. Run from elsewhere, the tool no longer
reads (or writes into) the checkout it was installed from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "controlplane", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})


def _names(result: subprocess.CompletedProcess) -> set[str]:
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    rows = data["runbooks"] if isinstance(data, dict) else data
    return {r["name"] for r in rows}


def test_a_projects_own_runbooks_are_used_inside_it_and_its_subfolders(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    shutil.copy(REPO / "runbooks" / "gateway-restart.yaml", tmp_path / "runbooks")
    (tmp_path / "sub").mkdir()
    assert _names(_cli("runbook", "list", "--json", cwd=tmp_path)) == {"gateway-restart"}
    assert _names(_cli("runbook", "list", "--json", cwd=tmp_path / "sub")) == {
        "gateway-restart"}


def test_outside_any_project_the_shipped_defaults_are_used(tmp_path: Path) -> None:
    assert "ledger-failover" in _names(_cli("runbook", "list", "--json", cwd=tmp_path))


def test_the_named_project_wins_and_a_missing_one_is_refused(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "runbooks").mkdir(parents=True)
    shutil.copy(REPO / "runbooks" / "gateway-restart.yaml", own / "runbooks")
    assert _names(_cli("runbook", "list", "--json", cwd=REPO,
                       CONTROLPLANE_PROJECT=str(own))) == {"gateway-restart"}
    missing = _cli("runbook", "list", cwd=tmp_path, CONTROLPLANE_PROJECT=str(tmp_path / "no"))
    assert missing.returncode == 2 and "CONTROLPLANE_PROJECT" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_init_writes_a_project_that_the_commands_then_use(tmp_path: Path) -> None:
    target = tmp_path / "desk"
    made = _cli("init", str(target), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    for name in ("experiments", "runbooks", "policies", "loadtests"):
        assert (target / name).is_dir()
    shown = _cli("project", "--json", cwd=target)
    assert json.loads(shown.stdout)["project"] == str(target.resolve())
    again = _cli("init", str(target), cwd=tmp_path)
    assert again.returncode == 2 and "already holds" in again.stderr


def test_policies_render_writes_into_the_project_not_the_install(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    shutil.copy(REPO / "policies" / "slos.yaml", tmp_path / "policies")
    result = _cli("policies", "render", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "policies" / "generated" / "slo-rules.yml").is_file()
