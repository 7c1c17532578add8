"""Long work launched through the service on a fake cluster: a runbook run (a dry run) is the
`controlplane runbook run` command started as its own process, recorded in the store with the
API caller as who asked, and its launch record says when it ended and how; what may be
launched is checked before any process starts (names, paths inside experiments/, labels), and
no more than MAX_RUNNING run at once. Chaos recover answers at once.

What this does not cover: launching a drill, a load run or an experiment (each takes a real
cluster for tens of seconds; they are the same CLI commands the cluster tests run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlplane.application import launches
from controlplane.server import ServerSettings
from controlplane.store import Store, db_path
from tests.server.conftest import RunningServer, serving
from tests.support.credentials import bearer
from tests.support.fake_cluster import fake_cluster
from tests.support.net import wait_for


@pytest.fixture
def server(tmp_path: Path):
    fake_cluster(tmp_path)
    with serving(ServerSettings(port=0, state_dir=tmp_path)) as running:
        yield running


def _post(server: RunningServer, path: str, body: dict, role: str = "sre") -> tuple[int, dict]:
    status, _, reply = server.request(path, json.dumps(body).encode(),
                                      {"Content-Type": "application/json", **bearer(role)})
    return status, json.loads(reply)


def _get(server: RunningServer, path: str) -> dict:
    status, _, reply = server.request(path, None, bearer("viewer"))
    assert status == 200, reply
    return json.loads(reply)


def test_a_launched_runbook_run_is_the_cli_command_recorded_as_the_caller(
        server: RunningServer, tmp_path: Path) -> None:
    status, launch = _post(server, "/api/v1/runbooks/gateway-restart/runs",
                           {"labels": {"instance_id": "gateway-0"}, "dry_run": True})
    assert status == 202 and launch["running"] is True, launch
    assert launch["argv"] == ["runbook", "run", "gateway-restart", "--label",
                              "instance_id=gateway-0", "--dry-run"]
    done = wait_for("the launch to end", lambda: (
        d if not (d := _get(server, f"/api/v1/launches/{launch['id']}"))["running"] else None),
        timeout=120, interval=0.3)
    # the CLI's own verdict: its dry run's check (a canary order) cannot pass on a fake cluster
    assert done["exit_code"] == 1, done["output_tail"]
    assert "run 1: gateway-restart (dry run)" in done["output_tail"]
    assert [x["id"] for x in _get(server, "/api/v1/launches")["launches"]] == [launch["id"]]
    with Store(db_path(tmp_path)) as store:
        [run] = store.runbook_runs()
    assert (run.runbook, run.dry_run, run.started_by) == ("gateway-restart", True,
                                                         "machine:test-sre")


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/runbooks/no-such-runbook/runs", {}, "name"),
    ("/api/v1/runbooks/gateway-restart/runs", {"labels": {"bad key": "x"}}, "labels.bad key"),
    ("/api/v1/runbooks/gateway-restart/runs", {"labels": {"a": 1}}, "labels.a"),
    ("/api/v1/chaos/runs", {"experiments": "../../etc"}, "experiments"),
    ("/api/v1/chaos/runs", {"experiments": "/etc/passwd"}, "experiments"),
    ("/api/v1/chaos/runs", {"experiments": "fault=no-such-fault"}, "experiments"),
    ("/api/v1/drills", {"kind": "site-loss"}, "kind"),
    ("/api/v1/drills", {}, "kind"),
    ("/api/v1/load/runs", {"profile": "no-such-profile"}, "profile"),
    ("/api/v1/load/runs", {"profile": "smoke", "users": 1_000_000}, "users"),
])
def test_a_bad_launch_is_a_400_naming_the_field_and_starts_nothing(
        server: RunningServer, tmp_path: Path, path: str, body: dict, field: str) -> None:
    status, reply = _post(server, path, body)
    assert status == 400 and reply["error"]["field"] == field, reply
    assert _get(server, "/api/v1/launches")["launches"] == []


def test_past_the_limit_a_launch_is_a_429(server: RunningServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launches, "MAX_RUNNING", 0)
    status, reply = _post(server, "/api/v1/runbooks/gateway-restart/runs",
                          {"labels": {"instance_id": "gateway-0"}, "dry_run": True})
    assert status == 429 and "launches are running" in reply["error"]["message"]
    assert _get(server, "/api/v1/launches")["launches"] == []


def test_recover_through_the_api_answers_with_what_it_reverted(server: RunningServer) -> None:
    status, reply = _post(server, "/api/v1/chaos/recover", {}, role="operator")
    assert status == 200 and reply == {"reverted": {}, "why": {}, "aborted": {}, "swept": []}
    assert _post(server, "/api/v1/chaos/recover", {}, role="viewer")[0] == 403
