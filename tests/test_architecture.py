"""The boundaries the architecture promises, checked on the source: the platform is the only
seam to a cluster, and only a platform's own folder imports its implementation."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from controlplane.errors import InvalidInput, Unsupported
from controlplane.platform import PLANNED, PLATFORMS, load_platform, open_platform
from controlplane.topology import DEFAULT_TOPOLOGY, load_topology
from controlplane.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("controlplane", "benchmarks", "testbed", "tests")
# a platform's own folder, the tests of its internals, and the tests' one door to its mechanisms
ALLOWED = {name: (f"controlplane/platform/{name}/", f"tests/platform/{name}/",
                  f"tests/support/{name}.py") for name in PLATFORMS}


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def offenders() -> list[str]:
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for name, allowed in ALLOWED.items():
                prefix = f"controlplane.platform.{name}"
                if rel.startswith(allowed):
                    continue
                hits = {i for i in _imports(path) if i == prefix or i.startswith(prefix + ".")}
                found += [f"{rel} imports {hit}" for hit in sorted(hits)]
    return found


def test_no_file_outside_a_platforms_folder_imports_it() -> None:
    assert offenders() == [], "import the platform through controlplane.platform instead"


def test_the_scan_finds_an_offending_import() -> None:
    bad = ROOT / "controlplane" / "_scan_probe_tmp.py"
    bad.write_text("from controlplane.platform.local.nft import Nft\n")
    try:
        assert offenders() == ["controlplane/_scan_probe_tmp.py imports "
                               "controlplane.platform.local.nft",
                               "controlplane/_scan_probe_tmp.py imports "
                               "controlplane.platform.local.nft.Nft"]
    finally:
        bad.unlink()


def test_the_scan_finds_a_test_importing_the_fake_platform() -> None:
    """Tests reach the fake as callers reach any platform: through `load_platform`."""
    bad = ROOT / "tests" / "_scan_probe_tmp.py"
    bad.write_text("import controlplane.platform.fake\n")
    try:
        assert offenders() == ["tests/_scan_probe_tmp.py imports controlplane.platform.fake"]
    finally:
        bad.unlink()


def test_a_workspace_reopens_the_fake_platform_on_its_cluster(tmp_path: Path) -> None:
    topology = load_topology(DEFAULT_TOPOLOGY).model_copy(update={"platform": "fake"})
    fake = load_platform(topology, tmp_path)
    fake.up(topology)
    again = open_platform(tmp_path)
    assert (type(again), again.name) == (type(fake), "fake") and again.is_up()
    assert [i.id for i in again.info().instances] == [i.id for i in fake.info().instances]


def test_a_topology_naming_an_unknown_platform_is_refused_naming_the_available(
        tmp_path: Path) -> None:
    topology = load_topology(DEFAULT_TOPOLOGY).model_copy(update={"platform": "nomad"})
    with pytest.raises(InvalidInput) as err:
        load_platform(topology, tmp_path)
    text = str(err.value)
    assert "platform" in text and "'nomad'" in text
    assert all(name in text for name in PLATFORMS)


def test_kubernetes_is_a_platform_and_nothing_is_planned_without_being_built(
        tmp_path: Path) -> None:
    topology = load_topology(DEFAULT_TOPOLOGY).model_copy(update={"platform": "kubernetes"})
    assert load_platform(topology, tmp_path).name == "kubernetes"      # nothing sent yet
    assert PLANNED == {} and "kubernetes" in PLATFORMS


def test_a_workspace_reopens_the_platform_it_was_loaded_with(tmp_path: Path) -> None:
    topology = load_topology(DEFAULT_TOPOLOGY)
    assert load_platform(topology, tmp_path).name == "local"
    assert open_platform(tmp_path).name == "local"
    Workspace(tmp_path).record_platform("nomad")
    with pytest.raises(Unsupported, match="nomad"):
        open_platform(tmp_path)


def test_a_damaged_workspace_record_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "target.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(InvalidInput, match="target.json"):
        open_platform(tmp_path)
