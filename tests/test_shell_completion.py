"""Shell completion (`_CONTROLPLANE_COMPLETE=bash_source controlplane`) completes the names
people type from their files: runbooks, load profiles and the catalogue's tag selectors."""

from __future__ import annotations

from pathlib import Path

from click.shell_completion import ShellComplete

from controlplane.cli import cli


def _complete(args: list[str], incomplete: str) -> list[str]:
    complete = ShellComplete(cli, {}, "controlplane", "_CONTROLPLANE_COMPLETE")
    return [item.value for item in complete.get_completions(args, incomplete)]


def test_runbook_names_complete() -> None:
    assert _complete(["runbook", "show"], "ledger-f") == ["ledger-failover"]
    assert "gateway-restart" in _complete(["runbook", "run"], "")


def test_runbook_names_come_from_the_runbooks_folder_given(tmp_path: Path) -> None:
    assert _complete(["runbook", "show", "--runbooks", str(tmp_path)], "") == []


def test_profile_names_complete() -> None:
    assert "retail" in _complete(["load", "run"], "re")
    assert all(name.startswith("re") for name in _complete(["load", "run"], "re"))


def test_experiment_targets_complete_tag_selectors_then_files() -> None:
    found = _complete(["chaos", "run"], "fault=process-k")
    assert found[0] == "fault=process-kill" and found[-1] == "fault=process-k"
    assert "component=ledger" in _complete(["chaos", "validate"], "component=")
