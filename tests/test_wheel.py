"""A non-editable install works (issue 14 item 22): a wheel built from the checkout carries the
package data and the folders users edit, and installed on its own, run from a directory that is
no project, it finds its shipped runbooks, experiments and policies inside the package, and
`controlplane init` copies them out. The wheel is built without build isolation from a copy of
the sources, so the checkout is not written.

What this does not cover: installing the dependencies from an index (the test environment's
are reused), and starting the reference cluster from the installed package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("experiments", "runbooks", "policies", "loadtests", "dashboards", "charts")
SOURCES = ("controlplane", "testbed", *FOLDERS)
BUILD_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md")


def _tracked(*paths: str) -> list[str]:
    """The files git tracks under `paths` (everything under them when there is no git)."""
    try:
        out = subprocess.run(["git", "ls-files", *paths], cwd=REPO, capture_output=True,
                             text=True, timeout=30, check=True).stdout
        return out.split()
    except (OSError, subprocess.CalledProcessError):
        return [str(p.relative_to(REPO)) for d in paths for p in (REPO / d).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_FILES:
        shutil.copy(REPO / name, src / name)
    for name in SOURCES:
        shutil.copytree(REPO / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(dist), str(src)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (whl,) = dist.glob("controlplane-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                           "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return target


def _cli(site: Path, *args: str, cwd: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CONTROLPLANE_PROJECT"}
    result = subprocess.run([sys.executable, "-m", "controlplane", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=120,
                            env={**env, "PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_the_wheel_holds_the_package_data_and_the_shipped_folders(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [f for f in _tracked("controlplane", "testbed") if not f.endswith(".py")]
    assert data and [f for f in data if f not in names] == []
    # A chart's link to a project folder (charts/controlplane/files/runbooks) is tracked as
    # one entry; the wheel holds the files under it, not the link.
    shipped = [f for f in _tracked(*FOLDERS) if not (REPO / f).is_dir()]
    assert len(shipped) > 200
    assert [f for f in shipped if f"controlplane/_shipped/{f}" not in names] == []


def test_an_installed_wheel_reads_its_shipped_folders_from_the_package(
        installed: Path, tmp_path: Path) -> None:
    nowhere = tmp_path / "not-a-project"
    nowhere.mkdir()
    project = _cli(installed, "project", "--json", cwd=nowhere)
    shipped = installed / "controlplane" / "_shipped"
    assert project["project"] == project["shipped"] == str(shipped)
    assert project["folders"]["runbooks"] == str(shipped / "runbooks")

    runbooks = {r["name"] for r in _cli(installed, "runbook", "list", "--json",
                                        cwd=nowhere)["runbooks"]}
    assert runbooks == {p.stem for p in (REPO / "runbooks").glob("*.yaml")}
    experiments = _cli(installed, "chaos", "list", "--json", cwd=nowhere)
    in_checkout = _cli(REPO, "chaos", "list", "--json", cwd=nowhere)
    assert experiments["count"] == in_checkout["count"] >= 210


def test_init_from_an_installed_wheel_writes_the_shipped_folders(
        installed: Path, tmp_path: Path) -> None:
    target = tmp_path / "my-project"
    env = {k: v for k, v in os.environ.items() if k != "CONTROLPLANE_PROJECT"}
    done = subprocess.run([sys.executable, "-m", "controlplane", "init", str(target)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**env, "PYTHONPATH": str(installed)})
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("runbooks", "policies"):
        for original in (REPO / name).rglob("*"):
            if original.is_file() and "__pycache__" not in original.parts:
                copy = target / original.relative_to(REPO)
                assert copy.read_bytes() == original.read_bytes(), copy
    project = _cli(installed, "project", "--json", cwd=target)
    assert project["project"] == str(target)
    assert project["folders"]["experiments"] == str(target / "experiments")


def test_outside_a_project_an_installed_wheel_renders_rules_into_the_current_directory(
        installed: Path, tmp_path: Path) -> None:
    before = sorted(p for p in installed.rglob("*") if "__pycache__" not in p.parts)
    env = {k: v for k, v in os.environ.items() if k != "CONTROLPLANE_PROJECT"}
    done = subprocess.run([sys.executable, "-m", "controlplane", "policies", "render"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**env, "PYTHONPATH": str(installed)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "record:" in (tmp_path / "slo-rules.yml").read_text()
    assert sorted(p for p in installed.rglob("*") if "__pycache__" not in p.parts) == before
