"""The chaos API without the reference cluster: runs that another process records in the
workspace's store (as `controlplane chaos run` does) are listed while they run; a halt
through the API signals a stand-in runner, and its fault (a real `sleep` paused through the
real process-pause fault) is reverted within 2 s; bad input is a 4xx naming the field, never
a 5xx, and nothing acts on it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.host.procs import proc_state
from controlplane.server import ServerSettings
from controlplane.server.chaos_api import CHAOS
from controlplane.store import Store, db_path
from tests.support.signal_runner import (
    StartRunner,
    WorkspacePlatform,
    sleeping_instance,
    stand_in_runners,
)

from .conftest import RunningServer, serving

HALT = "/api/v1/chaos/halt"


@pytest.fixture
def chaos_server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(ServerSettings(port=0, state_dir=tmp_path)) as running:
        yield running


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[int]:
    with sleeping_instance(tmp_path) as pid:
        yield pid


@pytest.fixture
def faulty(chaos_server: RunningServer, tmp_path: Path, sleeper: int) -> Iterator[StartRunner]:
    """The server acts on the process platform; stand-in runners pause `sleeper`."""
    chaos_server.app[CHAOS].opened = WorkspacePlatform({"gateway-0": sleeper}, tmp_path)
    with stand_in_runners(db_path(tmp_path), sleeper) as start:
        yield start


def _record_runs(root: Path) -> None:
    """Runs recorded by another process, as the CLI's `chaos run` records them."""
    with Store(db_path(root)) as store:
        store.start_chaos_run("20240501T120000-aaaaaa", "a.json", "done", ["fault:x"], pid=1)
        store.add_chaos_event("20240501T120000-aaaaaa", 1.0, "method_started", {})
        store.finish_chaos_run("20240501T120000-aaaaaa", "passed", None, {"rto_s": 1.5})
        store.start_chaos_run("20240501T120100-bbbbbb", "b.json", "running", [], pid=2)


def _post(server: RunningServer, path: str, body: bytes) -> tuple[int, dict]:
    status, _, reply = server.request(path, body, {"Content-Type": "application/json"})
    return status, json.loads(reply)


def _halted(root: Path) -> bool:
    with Store(db_path(root)) as store:
        return store.halt_state().halted


def test_runs_recorded_by_another_process_are_listed_and_filtered(
        chaos_server: RunningServer, tmp_path: Path) -> None:
    _record_runs(tmp_path)                     # after the server opened the store
    status, doc = chaos_server.get_json("/api/v1/chaos/runs")
    assert status == 200
    assert [r["run_id"] for r in doc["runs"]] == ["20240501T120100-bbbbbb",
                                                  "20240501T120000-aaaaaa"]
    status, doc = chaos_server.get_json("/api/v1/chaos/runs?state=running")
    assert [(r["run_id"], r["state"], r["pid"]) for r in doc["runs"]] == [
        ("20240501T120100-bbbbbb", "running", 2)]
    assert doc["runs"][0]["started_at_iso"].endswith("Z")
    status, doc = chaos_server.get_json("/api/v1/chaos/runs?limit=1&state=passed")
    assert [r["run_id"] for r in doc["runs"]] == ["20240501T120000-aaaaaa"]


def test_one_runs_detail_and_an_unknown_run(chaos_server: RunningServer,
                                            tmp_path: Path) -> None:
    _record_runs(tmp_path)
    status, doc = chaos_server.get_json("/api/v1/chaos/runs/20240501T120000-aaaaaa")
    assert status == 200
    assert doc["run"]["result"] == {"rto_s": 1.5}
    assert [e["kind"] for e in doc["events"]] == ["method_started"] and doc["faults"] == []
    status, doc = chaos_server.get_json("/api/v1/chaos/runs/20240501T000000-nobody")
    assert status == 404
    assert doc["error"]["field"] == "run_id" and doc["error"]["value"] == \
        "20240501T000000-nobody"


@pytest.mark.parametrize("query, field", [
    ("/api/v1/chaos/runs?state=sleeping", "state"),
    ("/api/v1/chaos/runs?limit=0", "limit"), ("/api/v1/chaos/runs?limit=abc", "limit"),
    ("/api/v1/chaos/runs?limit=nan", "limit"), ("/api/v1/chaos/runs?limit=" + "9" * 5000,
                                                 "limit"),
    ("/api/v1/chaos/runs/a%20b", "run_id"), ("/api/v1/chaos/runs/..", "run_id"),
    ("/api/v1/chaos/runs/" + "x" * 129, "run_id"), ("/api/v1/chaos/runs/-x", "run_id"),
], ids=lambda v: v[:40])
def test_bad_queries_are_400_naming_the_field(chaos_server: RunningServer, query: str,
                                              field: str) -> None:
    status, doc = chaos_server.get_json(query)
    assert status == 400 and doc["error"]["field"] == field, doc


@pytest.mark.parametrize("body, field", [
    (b"not json", "(body)"), (b"[1]", "(body)"), (b'"halt"', "(body)"),
    (b"\xff\xfe", "(body)"), (b"[" * 100 + b"]" * 100, "(body)"),
    (b'{"wait_s": NaN}', "(body)"), (b'{"wait_s": Infinity}', "(body)"),  # not JSON
    (b'{"wait_s": -Infinity}', "(body)"), (b'{"wait_s": 1e400}', "(body)"),
    (b'{"wait_s": 1e9}', "wait_s"), (b'{"wait_s": -1}', "wait_s"),
    (b'{"wait_s": "1"}', "wait_s"), (b'{"wait_s": true}', "wait_s"),
    (b'{"wait_s": null}', "wait_s"), (b'{"wait_s": [1]}', "wait_s"),
    (b'{"wait_s": ' + b"9" * 5000 + b"}", "(body)"),
    (b'{"reason": 5}', "reason"), (b'{"reason": ""}', "reason"),
    (b'{"reason": "' + b"x" * 501 + b'"}', "reason"), (b'{"reason": null}', "reason"),
    (b'{"why": "x"}', "why"),
], ids=lambda v: v[:30] if isinstance(v, bytes) else v)
def test_bad_halt_bodies_are_400_naming_the_field_and_halt_nothing(
        chaos_server: RunningServer, tmp_path: Path, body: bytes, field: str) -> None:
    status, doc = _post(chaos_server, HALT, body)
    assert status == 400 and doc["error"]["field"] == field, doc
    assert not _halted(tmp_path)


def test_a_halt_with_nothing_running_halts_and_resume_undoes_it(
        chaos_server: RunningServer, tmp_path: Path) -> None:
    status, doc = _post(chaos_server, HALT, b"")
    assert status == 200 and doc["ok"] is True and doc["runs"] == [] and doc["faults"] == []
    assert doc["reason"] == "halted through the control-plane API"
    assert chaos_server.get_json("/api/v1/chaos/status")[1]["halted"] is True
    assert _post(chaos_server, "/api/v1/chaos/resume", b'{"x": 1}')[0] == 400
    status, doc = _post(chaos_server, "/api/v1/chaos/resume", b"{}")
    assert status == 200 and doc == {"halted": False, "halt_reason": None}
    assert not _halted(tmp_path)


def test_a_halt_through_the_api_reverts_a_runners_fault_within_2_s(
        chaos_server: RunningServer, faulty: StartRunner, sleeper: int) -> None:
    runner, fault_id = faulty("revert", run_id="20240501T120200-cccccc")
    status, doc = chaos_server.get_json("/api/v1/chaos/runs?state=running")
    assert [r["run_id"] for r in doc["runs"]] == ["20240501T120200-cccccc"]
    asked = time.monotonic()
    status, doc = _post(chaos_server, HALT, b'{"reason": "api test", "wait_s": 5}')
    answered = time.monotonic() - asked
    assert status == 200 and doc["ok"] is True, doc
    assert answered <= 2.0 and doc["seconds"] <= 2.0
    assert [(f["fault_id"], f["reverted_by"], f["verified"]) for f in doc["faults"]] == [
        (fault_id, "runner", True)]
    assert doc["runs"][0]["signalled"] is True
    assert proc_state(sleeper) != "T" and runner.wait(10) == 0
    status, doc = chaos_server.get_json("/api/v1/chaos/runs/20240501T120200-cccccc")
    assert doc["run"]["state"] == "aborted" and doc["faults"][0]["state"] == "reverted"


def test_a_halt_does_not_block_the_event_loop(chaos_server: RunningServer,
                                              faulty: StartRunner, sleeper: int) -> None:
    """The runner ignores the signal, so the halt waits its whole wait_s before reverting;
    meanwhile the service answers other requests at once."""
    faulty("ignore")
    replies: list[tuple[int, dict]] = []
    halting = threading.Thread(target=lambda: replies.append(
        _post(chaos_server, HALT, b'{"wait_s": 1.5}')))
    halting.start()
    time.sleep(0.3)
    asked = time.monotonic()
    status, _ = chaos_server.get_json("/healthz")
    assert status == 200 and time.monotonic() - asked < 0.5
    assert halting.is_alive()                   # the halt was still waiting meanwhile
    halting.join(10)
    [(status, doc)] = replies
    assert status == 200 and doc["ok"] is True
    assert [f["reverted_by"] for f in doc["faults"]] == ["halt"]
    assert proc_state(sleeper) != "T"


def test_without_a_state_dir_the_chaos_routes_answer_503(server: RunningServer) -> None:
    for status, doc in (server.get_json("/api/v1/chaos/runs"),
                        server.get_json("/api/v1/chaos/runs/x"),
                        server.get_json("/api/v1/chaos/status"),
                        _post(server, HALT, b"{}"),
                        _post(server, "/api/v1/chaos/resume", b"")):
        assert status == 503 and "--state-dir" in doc["error"]["message"], doc
