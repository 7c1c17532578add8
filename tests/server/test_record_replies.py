"""The record routes (drills, chaos runs, alerts, traces, runbook runs, the audit trail) answer
bodies their reply models describe in the OpenAPI document: with one record of each kind in
the store, every such route's answer validates against the document's schema for it (every
field, nothing more), and each keeps the fields the CLI's --json and the web UI read. A read
route added without a reply model fails here."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest

from controlplane.observe.records import SpanRecord
from controlplane.server import ServerSettings
from controlplane.server.access import ROUTE_PERMISSIONS
from controlplane.server.openapi import document
from controlplane.server.replies import REPLIES
from controlplane.store import Store, db_path
from tests.server.alerting import post
from tests.server.conftest import RunningServer, serving

TRACE = "a" * 32
READS = ("records:read", "audit:read")


def _seed(store: Store) -> None:
    drill = store.create_drill("ledger-failover", "ledger", {"rate": 20})
    store.add_drill_event(drill.id, time.time(), "fault_injected", {"node": "ledger-0"})
    store.start_chaos_run("run-1", "gateway/process-kill-gateway.json", "kill", ["fault:x"])
    store.add_chaos_event("run-1", time.time(), "run_started", {"x": 1})
    fault = store.record_fault("process-kill", "gateway-0", {"how": "start"}, "run-1")
    store.mark_fault_injected(fault.id, time.time())
    run = store.start_runbook_run("gateway-restart", "gateway-0", "cli:olga", {"by": "hand"})
    assert run is not None
    step = store.start_step(run.id, 0, "stop", "step", "platform.stop", "engine", {"i": 1})
    store.finish_step(step.id, "succeeded", {"ok": True})


def _span(now_ns: int) -> SpanRecord:
    return SpanRecord(TRACE, "b" * 16, "", "POST /orders", "server", "gateway", "gateway-0",
                      now_ns - 5_000_000, now_ns, False, {"http.status_code": 200})


@pytest.fixture
def server(tmp_path: Path):
    with Store(db_path(tmp_path)) as store:
        _seed(store)
    with serving(ServerSettings(port=0, state_dir=tmp_path), time.time) as running:
        running.on_loop(lambda: running.state.spans.add([_span(time.time_ns())]))
        status, _ = post(running, [{"labels": {"alertname": "GatewayDown",
                                               "severity": "critical"}}])
        assert status == 200
        yield running


def _schema(doc: dict, template: str) -> dict:
    ok = doc["paths"][template]["get"]["responses"]["200"]
    return {**ok["content"]["application/json"]["schema"], "components": doc["components"]}


def test_every_read_route_of_records_has_a_reply_model() -> None:
    reads = {key for key, rule in ROUTE_PERMISSIONS.items()
             if key[0] == "GET" and rule in READS and key != ("GET", "/api/v1/chaos/status")}
    assert sorted(reads - set(REPLIES)) == []


PATHS = {
    "/api/v1/drills": "/api/v1/drills", "/api/v1/drills/{drill_id}": "/api/v1/drills/1",
    "/api/v1/chaos/runs": "/api/v1/chaos/runs",
    "/api/v1/chaos/runs/{run_id}": "/api/v1/chaos/runs/run-1",
    "/api/v2/alerts": "/api/v2/alerts", "/api/v1/traces": "/api/v1/traces",
    "/api/v1/traces/{trace_id}": f"/api/v1/traces/{TRACE}",
    "/api/v1/telemetry/summary": "/api/v1/telemetry/summary",
    "/api/v1/runbooks/runs": "/api/v1/runbooks/runs",
    "/api/v1/runbooks/runs/{run_id}": "/api/v1/runbooks/runs/1",
    "/api/v1/audit": "/api/v1/audit", "/api/v1/audit/verify": "/api/v1/audit/verify",
    "/api/v1/chaos/approvals": "/api/v1/chaos/approvals",
    "/api/v1/runbooks/{name}": "/api/v1/runbooks/ledger-failover",
    "/api/v1/availability": "/api/v1/availability",
    "/api/v1/alerts/history": "/api/v1/alerts/history",
    "/api/v1/chaos/experiments": "/api/v1/chaos/experiments",
}


def test_each_record_route_answers_what_the_document_says(server: RunningServer) -> None:
    doc = document(server.app)
    bodies = {}
    for template, path in PATHS.items():
        status, _, raw = server.request(path)
        assert status == 200, (path, raw)
        bodies[template] = json.loads(raw)
        jsonschema.validate(bodies[template], _schema(doc, template))
    drill = bodies["/api/v1/drills/{drill_id}"]
    assert drill["drill"]["kind"] == "ledger-failover" and drill["events"][0]["at_iso"]
    chaos = bodies["/api/v1/chaos/runs/{run_id}"]
    assert chaos["run"]["tags"] == ["fault:x"] and chaos["faults"][0]["injected_at_iso"]
    [alert] = bodies["/api/v2/alerts"]
    assert alert["labels"]["alertname"] == "GatewayDown" and alert["status"]["state"]
    [span] = bodies["/api/v1/traces/{trace_id}"]["spans"]
    assert span["duration_ms"] == 5.0 and span["attributes"] == {"http.status_code": 200}
    assert bodies["/api/v1/telemetry/summary"]["services"][0]["service"] == "gateway"
    steps = bodies["/api/v1/runbooks/runs/{run_id}"]["steps"]
    assert steps[0]["output"] == {"ok": True} and steps[0]["took_s"] is not None
    assert bodies["/api/v1/runbooks/runs"]["automation"]["paused"] is False
    assert bodies["/api/v1/audit/verify"]["ok"] is True
    assert bodies["/api/v1/alerts/history"]["alerts"][0]["alertname"] == "GatewayDown"
    assert bodies["/api/v1/availability"]["slos"][0]["days_30"] is None     # no Prometheus
    assert {"seq", "hash", "prev_hash"} <= set(bodies["/api/v1/audit"]["entries"][0])
