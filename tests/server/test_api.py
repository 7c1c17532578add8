"""The read API, /metrics, health, and errors that are JSON and never 500 for bad input."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from prometheus_client import CollectorRegistry

from controlplane.server import ServerSettings, create_app
from controlplane.server.state import STATE
from controlplane.store import Store, db_path
from tests.support.credentials import bearer, with_test_credentials

from .conftest import FakeClock, RunningServer, serving

TRACE = "0af7651916cd43dd8448eb211c80319c"


def post_span(server: RunningServer, trace_id: str = TRACE, service: str = "gateway") -> None:
    body = json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"spans": [{"traceId": trace_id, "spanId": "b7ad6b7169203331",
                                   "name": "POST /orders", "kind": 2,
                                   "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]})
    status, _, _ = server.request("/v1/traces", body.encode(),
                                  {"Content-Type": "application/json"})
    assert status == 200


def test_trace_lookup(server: RunningServer) -> None:
    post_span(server)
    status, document = server.get_json(f"/api/v1/traces/{TRACE}")
    assert status == 200 and document["trace_id"] == TRACE
    status, document = server.get_json(f"/api/v1/traces/{'1' * 32}")
    assert status == 404 and document["error"]["field"] == "trace_id"
    status, document = server.get_json("/api/v1/traces/xyz")
    assert status == 400
    assert document["error"] == {"field": "trace_id", "value": "xyz",
                                 "message": "trace_id: must be 32 hex characters (got 'xyz')"}


def test_recent_traces(server: RunningServer) -> None:
    post_span(server, TRACE, "gateway")
    post_span(server, "1" * 32, "matcher")
    status, document = server.get_json("/api/v1/traces?limit=5")
    assert status == 200
    assert [t["trace_id"] for t in document["traces"]] == ["1" * 32, TRACE]
    assert document["traces"][0]["root_service"] == "matcher"
    assert [t["trace_id"] for t in server.get_json("/api/v1/traces?service=gateway")[1][
        "traces"]] == [TRACE]


@pytest.mark.parametrize("query", ["/api/v1/traces?limit=abc", "/api/v1/traces?limit=0",
                                   "/api/v1/traces?limit=1.5", "/api/v1/traces?limit=100000",
                                   "/api/v1/telemetry/summary?window=nan",
                                   "/api/v1/telemetry/summary?window=-5",
                                   "/api/v1/telemetry/summary?window=soon"])
def test_bad_parameters_are_400(server: RunningServer, query: str) -> None:
    status, document = server.get_json(query)
    assert status == 400
    assert document["error"]["field"] in ("limit", "window")


def test_summary_defaults_to_the_configured_window(server: RunningServer) -> None:
    status, document = server.get_json("/api/v1/telemetry/summary")
    assert (status, document) == (200, {"window_s": 300.0, "services": [], "hops": []})


def test_drills_from_the_store(tmp_path: Path) -> None:
    with Store(db_path(tmp_path), clock=FakeClock()) as store:
        drill = store.create_drill("failover", "ledger", {"users": 100})
        store.add_drill_event(drill.id, 1_700_000_003.0, "fault_injected", {"node": "ledger-0"})
        store.finish_drill(drill.id, "passed", {"rto_s": 8.5, "rpo_orders": 0})
        other = store.create_drill("partition", "matcher", {})
    with serving(ServerSettings(port=0, state_dir=tmp_path)) as server:
        status, document = server.get_json("/api/v1/drills")
        assert status == 200
        assert [d["id"] for d in document["drills"]] == [other.id, drill.id]
        assert [d["id"] for d in server.get_json("/api/v1/drills?kind=failover")[1][
            "drills"]] == [drill.id]
        status, document = server.get_json(f"/api/v1/drills/{drill.id}")
        assert status == 200
        assert document["drill"]["result"] == {"rto_s": 8.5, "rpo_orders": 0}
        assert document["drill"]["started_at_iso"] == "2023-11-14T22:13:20.000Z"
        assert [(e["kind"], e["detail"]) for e in document["events"]] == [
            ("fault_injected", {"node": "ledger-0"})]
        assert server.get_json("/api/v1/drills/999")[0] == 404
        for bad in ("abc", "-1", "1.0", "%C2%B2"):
            status, document = server.get_json(f"/api/v1/drills/{bad}")
            assert (status, document["error"]["field"]) == (400, "drill_id")
        assert server.get_json("/readyz")[0] == 200


def test_drills_without_a_state_dir_are_unavailable(server: RunningServer) -> None:
    status, document = server.get_json("/api/v1/drills")
    assert status == 503 and "state directory" in document["error"]["message"]


def test_metrics_health_and_unknown_routes(server: RunningServer) -> None:
    post_span(server)
    server.get_json("/api/v1/traces/xyz")
    assert server.get_json("/healthz") == (200, {"status": "ok"})
    assert server.get_json("/readyz") == (200, {"status": "ready"})
    status, document = server.get_json("/no/such/route")
    assert status == 404 and "error" in document
    status, headers, _ = server.request("/healthz", b"")
    assert status == 405 and headers["Allow"] == "GET,HEAD"
    status, headers, body = server.request("/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert "controlplane_spans_received_total 1.0" in text
    assert "controlplane_spans_stored 1.0" in text
    assert ('controlplane_http_requests_total{method="GET",route="/api/v1/traces/{trace_id}",'
            'status="400"} 1.0') in text
    assert 'route="unmatched",status="404"' in text
    assert "controlplane_http_request_duration_seconds_bucket" in text


def test_a_default_aiohttp_runner_still_accepts_gzip() -> None:
    """aiohttp inflates bodies unless told not to; the receiver must not inflate twice."""
    body = gzip.compress(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": TRACE, "spanId": "b7ad6b7169203331", "name": "zipped"}]}]}]}).encode())

    async def scenario() -> tuple[int, int]:
        app = create_app(with_test_credentials(ServerSettings(port=0)), CollectorRegistry(),
                         FakeClock())
        runner = web.AppRunner(app)  # auto_decompress left on
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1/traces"
        try:
            async with ClientSession() as session, session.post(url, data=body, headers={
                    "Content-Type": "application/json", "Content-Encoding": "gzip",
                    **bearer("telemetry")}) as reply:
                return reply.status, len(app[STATE].spans)
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == (200, 1)


def test_the_runbook_page_an_alert_links_to(server: RunningServer) -> None:
    """runbook_url (policies/generated/slo-rules.yml) is <base>/api/v1/runbooks/<name>."""
    status, document = server.get_json("/api/v1/runbooks/ledger-failover")
    assert status == 200
    assert document["name"] == "ledger-failover"
    assert document["trigger"]["alert"] == "LedgerNoPrimary"
    assert document["file"].endswith("runbooks/ledger-failover.yaml")
    status, document = server.get_json("/api/v1/runbooks/matcher-autoscale")
    assert status == 404 and document["error"]["field"] == "name"
    status, _, _ = server.request("/api/v1/runbooks/ledger-failover", auth=False)
    assert status == 401
