"""Every bad input to the real services gets a 4xx naming the field, never a 500."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from tests.support.http import call
from tests.testbed.cluster import Cluster

pytestmark = pytest.mark.cluster

GOOD = {"account": "bad-input", "symbol": "AAPL", "side": "buy", "type": "limit",
        "quantity": 1, "price": "180.00"}


def body(**changes: Any) -> bytes:
    merged = {k: v for k, v in {**GOOD, **changes}.items() if v is not ...}
    return json.dumps(merged).encode()


ORDER_CASES: list[tuple[str, bytes, int, str, str | None]] = [
    ("malformed json", b"{nope", 400, "body", None),
    ("empty body", b"", 400, "body", None),
    ("array body", b"[1, 2]", 400, "body", None),
    ("string body", b'"order"', 400, "body", None),
    ("NaN", b'{"quantity": NaN}', 400, "body", None),
    ("not utf-8", b'{"account": "\xff\xfe"}', 400, "body", None),
    ("missing account", body(account=...), 422, "account", None),
    ("missing symbol", body(symbol=...), 422, "symbol", None),
    ("missing side", body(side=...), 422, "side", None),
    ("missing type", body(type=...), 422, "type", None),
    ("missing quantity", body(quantity=...), 422, "quantity", None),
    ("null quantity", body(quantity=None), 422, "quantity", None),
    ("extra field", body(venue="dark"), 422, "venue", None),
    ("unknown symbol", body(symbol="ZZZ"), 422, "symbol", None),
    ("bad side", body(side="short"), 422, "side", None),
    ("bad type", body(type="stop"), 422, "type", None),
    ("zero quantity", body(quantity=0), 422, "quantity", None),
    ("negative quantity", body(quantity=-3), 422, "quantity", None),
    ("float quantity", b'{"account": "a", "symbol": "AAPL", "side": "buy", "type": "limit", '
                       b'"quantity": 1.5, "price": "180.00"}', 422, "quantity", None),
    ("bool quantity", body(quantity=True), 422, "quantity", None),
    ("string quantity", body(quantity="10"), 422, "quantity", None),
    ("text price", body(price="cheap"), 422, "price", None),
    ("negative price", body(price="-180.00"), 422, "price", None),
    ("zero price", body(price=0), 422, "price", None),
    ("off-tick price", body(price="180.001"), 422, "price", None),
    ("limit without price", body(price=...), 422, "price", None),
    ("market with price", body(type="market"), 422, "price", None),
    ("empty client_order_id", body(client_order_id=""), 422, "client_order_id", None),
    ("price above band", body(price="250.00"), 422, "price", "price_band"),
    ("price below band", body(price="100.00"), 422, "price", "price_band"),
    ("account pattern", body(account="bad account!"), 422, "account", "account_pattern"),
    ("max quantity", body(quantity=100_001), 422, "quantity", "max_order_quantity"),
    ("max notional", body(quantity=60_000), 422, "price", "max_order_notional"),
    ("market notional", body(type="market", price=..., quantity=90_000), 422, "quantity",
     "max_order_notional"),
]


@pytest.mark.parametrize("case, payload, status, field, rule", ORDER_CASES,
                         ids=[case[0] for case in ORDER_CASES])
def test_bad_orders(cluster: Cluster, case: str, payload: bytes, status: int, field: str,
                    rule: str | None) -> None:
    got, reply = call("POST", f"{cluster.gateway}/v1/orders", raw=payload)
    assert (got, reply["error"]["field"]) == (status, field), reply
    assert reply["error"].get("rule") == rule
    assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]


def test_too_large_a_body(cluster: Cluster) -> None:
    status, reply = call("POST", f"{cluster.gateway}/v1/orders", raw=b" " * 100_000)
    assert status == 413 and reply["error"]["field"] == "body"


@pytest.mark.parametrize("method, path, status, field", [
    ("GET", "/v1/orders/not-a-uuid", 400, "order_id"),
    ("GET", f"/v1/orders/{uuid.UUID(int=1)}", 404, "order_id"),
    ("DELETE", "/v1/orders/123", 400, "order_id"),
    ("GET", "/v1/positions/bad%20account", 400, "account"),
    ("GET", "/v1/quotes/ZZZ", 404, "symbol"),
    ("GET", "/v1/nothing", 404, "path"),
    ("PUT", "/v1/orders", 405, "path"),
])
def test_bad_requests_to_other_routes(cluster: Cluster, method: str, path: str, status: int,
                                      field: str) -> None:
    got, reply = call(method, f"{cluster.gateway}{path}")
    assert (got, reply["error"]["field"]) == (status, field), reply


@pytest.mark.parametrize("payload, status, field", [
    ({}, 422, "order_id"),
    ({"order_id": "x", "account": "a", "symbol": "AAPL", "side": "buy", "type": "limit",
      "quantity": 1, "price_ticks": 100}, 422, "order_id"),
    ({"order_id": str(uuid.uuid4()), "account": "a", "symbol": "MSFT", "side": "buy",
      "type": "limit", "quantity": 1, "price_ticks": 100}, 421, "symbol"),
    ({"order_id": str(uuid.uuid4()), "account": "a", "symbol": "AAPL", "side": "buy",
      "type": "limit", "quantity": 1}, 422, "price_ticks"),
    ({"order_id": str(uuid.uuid4()), "account": "a", "symbol": "AAPL", "side": "buy",
      "type": "limit", "quantity": "1", "price_ticks": 100}, 422, "quantity"),
])
def test_bad_requests_to_the_matcher(cluster: Cluster, payload: dict[str, Any], status: int,
                                     field: str) -> None:
    got, reply = call("POST", f"{cluster.url('matcher-0')}/v1/orders", payload)
    assert (got, reply["error"]["field"]) == (status, field), reply
    got, reply = call("DELETE", f"{cluster.url('matcher-0')}/v1/orders/{uuid.uuid4()}")
    assert (got, reply["error"]["field"]) == (400, "symbol")
    got, reply = call("GET", f"{cluster.url('matcher-0')}/v1/book/AAPL?depth=0")
    assert (got, reply["error"]["field"]) == (400, "depth")


def test_no_500s_and_metrics_are_exposed(cluster: Cluster) -> None:
    expected = {
        "gateway-0": ["http_requests_total", "gateway_orders_total", "gateway_rejections_total",
                      "gateway_order_ack_seconds", "db_pool_size", "db_pool_idle",
                      "db_pool_acquire_seconds", "http_requests_in_flight"],
        "matcher-0": ["matcher_queue_depth", "orderbook_depth_orders", "orderbook_depth_quantity",
                      "matcher_orders_total", "matcher_trades_total",
                      "matcher_ledger_retries_total", "matcher_commit_seconds", "db_pool_size"],
        "marketdata-0": ["marketdata_quote_age_seconds", "marketdata_updates_total",
                         "http_request_duration_seconds"],
    }
    for name, metrics in expected.items():
        status, text = call("GET", f"{cluster.url(name)}/metrics")
        assert status == 200
        for metric in metrics:
            assert f"\n{metric}" in text or text.startswith(metric) or \
                f"# TYPE {metric} " in text, (name, metric)
        assert 'code="500"' not in text, name
    call("POST", f"{cluster.gateway}/v1/orders", raw=body(price="250.00"))
    text = call("GET", f"{cluster.gateway}/metrics")[1]
    band = re.search(r'^gateway_rejections_total\{rule="price_band"\} (\S+)$', text, re.M)
    assert band is not None and float(band.group(1)) >= 1
