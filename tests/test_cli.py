"""The command line on bad input: a clear message naming what is wrong, and a non-zero exit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from controlplane.errors import MissingDependency
from controlplane.host import tools as binaries

REPO = Path(__file__).resolve().parent.parent


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "controlplane", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd or REPO)


def test_invalid_topology_exits_2_naming_file_field_and_value(tmp_path: Path) -> None:
    bad = tmp_path / "topo.yaml"
    bad.write_text("name: t1\nservices:\n  gateway:\n    kind: gateway\n    instances: 0\n")
    result = _cli("cluster", "up", "--topology", str(bad), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "services.gateway.instances" in result.stderr and "(got 0)" in result.stderr
    assert not (tmp_path / "s").exists()       # nothing was started or written


@pytest.mark.parametrize("name, says", [("nomad", "unknown platform")])
def test_a_topology_on_an_unavailable_platform_is_refused(tmp_path: Path, name: str,
                                                          says: str) -> None:
    topology = tmp_path / "topo.yaml"
    text = (REPO / "testbed" / "topology.yaml").read_text()
    topology.write_text(text.replace("platform: local", f"platform: {name}"))
    result = _cli("cluster", "up", "--topology", str(topology), "--state-dir",
                  str(tmp_path / "s"))
    assert result.returncode == 2, result.stderr
    assert str(topology) in result.stderr and f"'{name}'" in result.stderr
    assert says in result.stderr and "local" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "s").exists()


def test_status_without_a_cluster_says_how_to_start_one(tmp_path: Path) -> None:
    result = _cli("cluster", "status", "--state-dir", str(tmp_path))
    assert result.returncode == 1
    assert "no cluster is running" in result.stderr and "cluster up" in result.stderr


def test_drill_with_a_nonsense_rate_names_the_option(tmp_path: Path) -> None:
    result = _cli("drill", "ledger-failover", "--rate", "-5", "--state-dir", str(tmp_path))
    assert result.returncode == 2
    assert "--rate" in result.stderr and "-5" in result.stderr


def test_hang_drill_with_a_nonsense_hold_names_the_option(tmp_path: Path) -> None:
    for hold in ("0", "1e308", "nan"):
        result = _cli("drill", "ledger-hang", "--hold", hold, "--state-dir", str(tmp_path))
        assert result.returncode == 2, (hold, result.stderr)
        assert "--hold" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_a_bad_forward_url_names_the_option() -> None:
    result = _cli("serve", "--forward-otlp", "ftp://nowhere", "--port", "0")
    assert result.returncode == 2
    assert "--forward-otlp:" in result.stderr and "ftp://nowhere" in result.stderr


def test_serve_with_a_bad_forward_header_names_the_option() -> None:
    result = _cli("serve", "--forward-otlp-header", "Authorization", "--port", "0")
    assert result.returncode == 2 and "--forward-otlp-header" in result.stderr
    assert "NAME=VALUE" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_no_room_for_alert_names_names_the_option() -> None:
    result = _cli("serve", "--max-alert-names", "0", "--port", "0")
    assert result.returncode == 2 and "--max-alert-names:" in result.stderr


def test_missing_program_names_the_debian_package_and_the_fix(monkeypatch) -> None:
    monkeypatch.setattr(binaries.shutil, "which", lambda *a, **k: None)
    with pytest.raises(MissingDependency) as err:
        binaries.require("etcd")
    assert "'etcd-server'" in str(err.value)
    assert "apt-get install -y etcd-server" in str(err.value) and "make setup" in str(err.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the script as another user")
def test_setup_as_non_root_prints_the_exact_install_command() -> None:
    work = Path(tempfile.mkdtemp(prefix="setup-test-", dir="/tmp"))
    try:
        os.chmod(work, 0o755)
        (work / "scripts").mkdir()
        shutil.copy(REPO / "scripts" / "setup.sh", work / "scripts" / "setup.sh")
        result = subprocess.run(
            ["runuser", "-u", "nobody", "--", "bash", "scripts/setup.sh", "no-such-pkg-xyz"],
            cwd=work, capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(work)
    assert result.returncode == 1
    assert ("sudo apt-get install -y --no-install-recommends no-such-pkg-xyz"
            in result.stderr)


def test_error_messages_print_patterns_and_names_literally(tmp_path: Path) -> None:
    bad = tmp_path / "topo.yaml"
    bad.write_text("name: Bad_[red]Name\nservices: {gw: {kind: gateway}}\n")
    result = _cli("cluster", "status", "--topology", str(bad), "--state-dir", str(tmp_path))
    assert result.returncode == 2
    text = result.stderr.replace("\n", "")
    assert "'^[a-z][a-z0-9-]{1,40}$'" in text and "'Bad_[red]Name'" in text


def test_runbook_text_prints_literally(tmp_path: Path) -> None:
    source = (REPO / "runbooks" / "gateway-restart.yaml").read_text()
    (tmp_path / "gateway-restart.yaml").write_text(source.replace(
        "The gateway is crash-looping", "The [bold]gateway[/bold] [a-z0-9] is crash-looping"))
    result = _cli("runbook", "show", "gateway-restart", "--runbooks", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "The [bold]gateway[/bold] [a-z0-9] is crash-looping" in result.stdout.replace(
        "\n", " ")


def test_runbook_actions_lists_the_built_in_library_in_a_fresh_process() -> None:
    result = _cli("runbook", "actions")
    assert result.returncode == 0, result.stderr
    for name in ("ledger.failover", "platform.restart", "notify"):
        assert name in result.stdout


@pytest.mark.parametrize("command", [("drills", "list"), ("runbook", "status"),
                                     ("chaos", "status"), ("load", "runs")])
def test_first_run_says_nothing_is_recorded_yet(tmp_path: Path, command: tuple[str, ...]) -> None:
    state = tmp_path / "never-used"
    result = _cli(*command, "--state-dir", str(state))
    assert result.returncode == 0, result.stderr
    assert "recorded yet" in result.stdout and "create the state directory" not in (
        result.stdout + result.stderr)
    assert not state.exists()                   # looking must not create anything


def test_first_run_chaos_status_json_is_empty_json(tmp_path: Path) -> None:
    import json

    result = _cli("chaos", "status", "--json", "--state-dir", str(tmp_path / "never-used"))
    assert result.returncode == 0 and json.loads(result.stdout)["running"] == []
