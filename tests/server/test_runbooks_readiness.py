"""A runbook file the service refuses switches every runbook off: /readyz then answers 503
naming the file, the step and the field, and `controlplane_runbooks_loaded` is 0 for the
`RunbooksNotLoaded` alert. With good runbooks it is ready and the gauge is 1."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from controlplane.server import ServerSettings, create_app
from controlplane.slo import load_slos, render_rules
from tests.support.fake_cluster import fake_cluster

GOOD = {"name": "check-ledger", "description": "d", "target": "ledger", "expected_rto_s": 5,
        "steps": [{"name": "one", "action": "ledger.wait_primary", "params": {"timeout_s": 5}}]}


def _workspace(tmp_path: Path) -> Path:
    """A state directory recording the fake platform, with its cluster up."""
    state = tmp_path / "state"
    fake_cluster(state)
    return state


def _runbooks(tmp_path: Path, *docs: dict[str, Any]) -> Path:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for doc in docs:
        (folder / f"{doc['name']}.yaml").write_text(yaml.safe_dump(doc))
    return folder


def _ready(tmp_path: Path, runbooks: Path) -> tuple[int, Any, float | None]:
    registry = CollectorRegistry()
    settings = ServerSettings(port=0, state_dir=_workspace(tmp_path), runbooks_dir=runbooks,
                              ack_audit_interval_s=0)
    app = create_app(settings, registry)

    async def main() -> tuple[int, Any]:
        async with TestClient(TestServer(app)) as client:
            reply = await client.get("/readyz")
            return reply.status, await reply.json()
    status, body = asyncio.run(main())
    return status, body, registry.get_sample_value("controlplane_runbooks_loaded")


def test_a_refused_runbook_file_makes_the_service_unready_naming_file_and_field(
        tmp_path: Path) -> None:
    bad = dict(GOOD, name="restart-it", steps=[
        *GOOD["steps"], {"name": "two", "action": "platform.start"}])   # no instance
    folder = _runbooks(tmp_path, GOOD, bad)
    status, body, loaded = _ready(tmp_path, folder)
    assert status == 503, body
    error = body["error"]
    assert error["source"] == str(folder / "restart-it.yaml")
    assert error["field"] == "steps[1] (two).params.instance"
    assert "runbooks not loaded" in error["message"] and "Field required" in error["message"]
    assert str(folder / "restart-it.yaml") in error["message"]
    assert loaded == 0


def test_a_missing_runbooks_folder_is_unready_too(tmp_path: Path) -> None:
    status, body, loaded = _ready(tmp_path, tmp_path / "no-such-folder")
    assert status == 503 and body["error"]["field"] == "--runbooks", body
    assert "does not exist" in body["error"]["message"] and loaded == 0


def test_loaded_runbooks_are_ready_and_say_so_in_the_gauge(tmp_path: Path) -> None:
    status, body, loaded = _ready(tmp_path, _runbooks(tmp_path, GOOD))
    assert (status, body, loaded) == (200, {"status": "ready"}, 1)


def test_the_generated_rules_alert_on_the_gauge() -> None:
    rules = yaml.safe_load(render_rules(load_slos()))
    alert = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}[
        "RunbooksNotLoaded"]
    assert "controlplane_runbooks_loaded" in alert["expr"]
