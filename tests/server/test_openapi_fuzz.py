"""Schemathesis against the service's own OpenAPI document (issue 10): for every operation it
generates requests from the document (path and query parameters, the request body models) and
sends them to a real server on a free port, with a credential allowed on each route. No
answer may be a 5xx, and every answer must match the document: a documented status code, its
content type, and its schema (the error shape for every 4xx).

The store holds one record of each kind (a drill, a chaos run with a fault, a runbook run
with a step), so the record routes' answers carry fields for the check to look at.

What this does not cover: the success bodies of the few routes without a reply model
(replies.py: the chaos status, halt and recover) are described as objects only, so their
fields are not checked; a generated id rarely names the seeded record; the halt runs on a
fake cluster with no open fault; a launch that passes its checks is refused as busy (429), so
fuzzing starts no process; and requests with no or a wrong credential are the access matrix
test's (test_access_matrix.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from prometheus_client import CollectorRegistry
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from controlplane.application import launches
from controlplane.server import ServerSettings, create_app
from controlplane.server.openapi import document
from controlplane.store import Store, db_path
from tests.server.conftest import RunningServer, serving
from tests.server.test_record_replies import _seed as seed_records
from tests.support.credentials import bearer_for
from tests.support.fake_cluster import fake_cluster

SCHEMA = schemathesis.openapi.from_dict(
    document(create_app(ServerSettings(port=0), CollectorRegistry())))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(autouse=True)
def _pools_of_urllib3_future(monkeypatch: pytest.MonkeyPatch) -> None:
    """grafana-client's niquests installs urllib3-future, whose pool container cannot be
    iterated the way Schemathesis counts open connections (to resend a request a server
    dropped unread). That count is only a retry heuristic: report none."""
    import schemathesis.transport.requests as transport

    monkeypatch.setattr(transport, "_count_opened_connections", lambda session: 0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    state = tmp_path_factory.mktemp("fuzz")
    fake_cluster(state)                 # the halt opens the workspace's (fake) platform
    with Store(db_path(state)) as store:
        seed_records(store)
    with pytest.MonkeyPatch.context() as patch, \
            serving(ServerSettings(port=0, state_dir=state)) as running:
        patch.setattr(launches, "MAX_RUNNING", 0)   # a valid launch answers 429: no process
        yield running


def test_the_document_describes_every_route() -> None:
    app = create_app(ServerSettings(port=0), CollectorRegistry())
    served = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.method != "HEAD"}
    doc = document(app)
    described = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert described == served and len(served) >= 25
    halt = doc["paths"]["/api/v1/chaos/halt"]["post"]
    assert set(halt["requestBody"]["content"]["application/json"]["schema"]["properties"]) == {
        "reason", "wait_s"}
    assert halt["security"] == [{"bearer": []}] and halt["x-permission"] == "chaos:halt"
    whoami = doc["paths"]["/api/v1/whoami"]["get"]["responses"]["200"]
    assert set(whoami["content"]["application/json"]["schema"]["required"]) == {
        "name", "role", "permissions"}
    launch = doc["paths"]["/api/v1/drills"]["post"]["responses"]
    assert "202" in launch and "200" not in launch
    listed = doc["paths"]["/api/v1/launches"]["get"]["responses"]["200"]["content"]
    ref = listed["application/json"]["schema"]["properties"]["launches"]["items"]["$ref"]
    assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"]


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_answer_matches_the_document(case, server: RunningServer) -> None:
    headers = bearer_for(case.method.upper(), case.operation.path)
    case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS, timeout=30)
