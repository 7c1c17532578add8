"""`controlplane drill ledger-failover --json`: stdout is the JSON document alone; the
timeline goes to stderr. The drill itself is faked at its seam (no cluster here)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from controlplane.application.events import Event, EventSink
from controlplane.cli import cli
from controlplane.store import Store
from controlplane.workspace import Workspace

drill_cli = importlib.import_module("controlplane.cli.drill")   # the module, not the group

RESULT = {"kind": "ledger-failover", "rto_s": 2.5, "rpo_orders": 0}


class FakeOutcome:
    passed = True

    def result(self) -> dict[str, Any]:
        return RESULT


async def fake_drill(platform: Any, store: Store, settings: Any, sink: EventSink) -> FakeOutcome:
    drill_id = str(store.create_drill("ledger-failover", "ledger-0", {}).id)
    sink(Event("drill", "recorded", f"drill #{drill_id}", record=drill_id))
    for kind, at, message in [("load_started", 1.0, "meter at 50/s"),
                              ("fault_injected", 2.0, "SIGKILL ledger-0"),
                              ("promoted", 4.5, "ledger-1 [primary]")]:
        sink(Event("drill", kind, message, record=drill_id, at=at))
    return FakeOutcome()


def test_json_prints_only_the_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    platform = SimpleNamespace(workspace=Workspace(tmp_path), info=lambda: None)
    monkeypatch.setattr(drill_cli, "local_platform", lambda *args: platform)
    monkeypatch.setattr(drill_cli, "ledger_failover_drill", fake_drill)
    result = CliRunner().invoke(cli, ["drill", "ledger-failover", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == RESULT
    assert "fault injected" in result.stderr and "ledger-1 [primary]" in result.stderr


def test_autoscale_reports_the_record_its_drill_wrote_not_the_latest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another drill recorded after this one (#2) must not become this drill's report (#1)."""
    from dataclasses import replace

    from tests.test_autoscale_drill_model import _outcome

    async def fake_autoscale(platform: Any, store: Store, settings: Any, sink: EventSink) -> Any:
        mine = store.create_drill("matcher-autoscale", "matcher", {}).id
        sink(Event("drill", "recorded", f"drill #{mine}", record=str(mine)))
        sink(Event("drill", "alerted", "alert MatcherSaturated received", record=str(mine)))
        store.create_drill("ledger-failover", "ledger-0", {})        # someone else's, later
        return replace(_outcome(), drill_id=mine)

    workspace = Workspace(tmp_path)
    monkeypatch.setattr(drill_cli, "local_platform",
                        lambda *args: SimpleNamespace(workspace=workspace, info=lambda: None))
    monkeypatch.setattr(drill_cli, "autoscale_drill", fake_autoscale)
    result = CliRunner().invoke(cli, ["drill", "autoscale"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "drill #1: matcher autoscaling" in result.stdout and "drill #2" not in result.stdout
    assert "  alerted          alert MatcherSaturated received" in result.stdout
    assert "recorded" not in result.stdout
