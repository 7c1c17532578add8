"""Deeply nested JSON at the control plane's JSON intakes (alerts, OTLP/JSON traces): a 400
naming the nesting limit, never a 500 from Python's recursion limit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from controlplane.jsonbody import MAX_DEPTH
from controlplane.server import ServerSettings, create_app
from tests.support.credentials import bearer_for, with_test_credentials

DEEP = "[" * 5000 + "]" * 5000
DEEP_OTLP = '{"resourceSpans": ' + DEEP + "}"


def _post(tmp_path: Path, route: str, body: str) -> tuple[int, Any]:
    app = create_app(with_test_credentials(ServerSettings(port=0, state_dir=tmp_path)),
                     CollectorRegistry())

    async def main() -> tuple[int, Any]:
        async with TestClient(TestServer(app)) as client:
            reply = await client.post(route, data=body.encode(),
                                      headers={"Content-Type": "application/json",
                                               **bearer_for("POST", route)})
            return reply.status, await reply.json()
    return asyncio.run(main())


@pytest.mark.parametrize(("route", "body"), [
    ("/api/v2/alerts", DEEP),
    ("/api/v2/alerts", "[" + "{\"labels\": " * 3000 + "1" + "}" * 3000 + "]"),
    ("/v1/traces", DEEP_OTLP),
])
def test_deep_nesting_is_a_400_naming_the_limit(tmp_path: Path, route: str, body: str) -> None:
    status, reply = _post(tmp_path, route, body)
    assert status == 400, reply
    assert f"nested deeper than {MAX_DEPTH} levels" in str(reply)


def test_a_shallow_bad_alert_is_still_judged_by_its_fields(tmp_path: Path) -> None:
    status, reply = _post(tmp_path, "/api/v2/alerts", '[{"labels": "[[[[[[[[["}]')
    assert status == 200 and "nested" not in str(reply)     # judged alone, named in the reply
    assert [e["field"] for e in reply["invalid"]] == ["[0].labels"]
