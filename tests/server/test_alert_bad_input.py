"""Bad input at the alert intake: a body refused whole gets a 4xx in our error shape naming
the problem, never a 5xx, and nothing of it is stored. The first four are what fuzzing found
as 500s (issue 10)."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from controlplane.server import ServerSettings, create_app
from controlplane.server.state import STATE
from tests.server.alerting import FIRING, WEBHOOK, intake_server, stored
from tests.support.credentials import bearer, with_test_credentials

JSON = {"Content-Type": "application/json"}
GOOD = json.dumps([FIRING]).encode()
ONE_LABEL = b'[{"labels": {"alertname": "X", "instance": %s}}]'
REFUSED = {
    "nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, JSON, 400, "nested deeper"),
    "an integer of 5,000 digits": (ONE_LABEL % (b"9" * 5000), JSON, 400, "4300 digits"),
    "a lone surrogate in a label": (ONE_LABEL % b'"gw\\ud800"', JSON, 400,
                                    "lone surrogate escape in the string at [0].labels"),
    "NaN": (ONE_LABEL % b"NaN", JSON, 400, "NaN is not a JSON number"),
    "not UTF-8": ('[{"labels": {"alertname": "é"}}]'.encode("latin-1"), JSON, 400, "UTF-8"),
    "not JSON": (b"{oops", JSON, 400, "not valid JSON"),
    "a string": (b'"alerts"', JSON, 400, "a JSON array of alerts or an Alertmanager webhook"),
    "an object, not a webhook": (b'{"labels": {}}', JSON, 400, "webhook notification"),
    "a webhook of another version": (json.dumps({**WEBHOOK, "version": "3"}).encode(), JSON,
                                     400, "version 4"),
    "a webhook without alerts": (json.dumps({**WEBHOOK, "alerts": {}}).encode(), JSON, 400,
                                 "alerts: must be a JSON array"),
    "1,001 alerts": (json.dumps([FIRING] * 1001).encode(), JSON, 400, "at most 1000 alerts"),
    "no content type": (GOOD, {}, 415, "Content-Type: application/json"),
    "a form": (GOOD, {"Content-Type": "application/x-www-form-urlencoded"}, 415, "takes JSON"),
    "gzip": (gzip.compress(GOOD), {**JSON, "Content-Encoding": "gzip"}, 415, "uncompressed"),
}


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory):
    with intake_server(tmp_path_factory.mktemp("intake")) as server:
        yield server


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_body_is_a_4xx_naming_the_problem_and_stores_nothing(intake, case: str) -> None:
    body, headers, expected_status, expected = REFUSED[case]
    status, _, reply = intake.request("/api/v2/alerts", body, headers)
    assert status == expected_status, reply[:300]
    error = json.loads(reply)["error"]
    assert expected in error["message"] and error["field"], error
    assert len(reply) < 1000                            # the body is never echoed back
    assert stored(intake) == []


def test_a_50_mb_body_is_a_413_in_our_shape(tmp_path: Path) -> None:
    """Through aiohttp's client: urllib keeps the refused connection lingering in the server
    for aiohttp's lingering_time (10 s) when the test server stops."""
    app = create_app(with_test_credentials(ServerSettings(port=0, state_dir=tmp_path)),
                     CollectorRegistry())
    body = b"[" + b" " * (50 * 1024 * 1024) + b"]"

    async def main() -> tuple[int, dict, int]:
        async with TestClient(TestServer(app)) as client:
            reply = await client.post("/api/v2/alerts", data=body,
                                      headers=JSON | bearer("alert-intake"))
            kept = len(app[STATE].store.alert_history())
            return reply.status, await reply.json(), kept
    status, reply, kept = asyncio.run(main())
    assert status == 413 and reply["error"]["field"] == "(body)"
    assert "larger than 16777216 bytes" in reply["error"]["message"] and kept == 0
