"""Deeply nested JSON bodies: the gateway's order intake (the real route, the real middleware)
answers 400 naming the nesting limit, never a 500 from Python's recursion limit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from testbed.config import ServiceConfig
from testbed.gateway.metrics import GatewayMetrics
from testbed.gateway.orders import OrderRoutes
from testbed.service.app import ServiceContext, new_app
from testbed.service.jsonio import MAX_DEPTH, nested_deeper_than
from testbed.trading import Trading


def _post_order(trading: Trading, body: str) -> tuple[int, Any]:
    registry = CollectorRegistry()
    config = ServiceConfig(service="gateway", instance="gateway-0", port=0, trading="/x.yaml")
    ctx = ServiceContext(config, trading, registry, TracerProvider().get_tracer("test"))
    app = new_app(ctx)
    # nothing upstream: a body refused at parsing never reaches the matchers or the ledger
    OrderRoutes(trading, None, None, None, GatewayMetrics(registry)).install(app)

    async def main() -> tuple[int, Any]:
        async with TestClient(TestServer(app)) as client:
            reply = await client.post("/v1/orders", data=body,
                                      headers={"Content-Type": "application/json"})
            return reply.status, await reply.json()
    return asyncio.run(main())


@pytest.mark.parametrize("body", [
    "[" * 5000 + "]" * 5000,                                  # 10 KB, 5,000 deep
    '{"account": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",   # ~35 KB of objects
    "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),            # just past the limit
])
def test_deep_nesting_is_a_400_naming_the_limit(trading: Trading, body: str) -> None:
    status, reply = _post_order(trading, body)
    assert status == 400, reply
    assert reply["error"]["field"] == "body"
    assert f"nested deeper than {MAX_DEPTH} levels" in reply["error"]["message"]


def test_brackets_inside_strings_are_not_nesting(trading: Trading) -> None:
    body = json.dumps({"account": "[" * 5000, "symbol": "{\\\"[[["})
    status, reply = _post_order(trading, body)
    assert status in (400, 422) and "nested" not in reply["error"]["message"]
    assert not nested_deeper_than(body, MAX_DEPTH)
    assert nested_deeper_than('["\\"", ' + "[" * 40 + "]" * 40 + "]", MAX_DEPTH)
