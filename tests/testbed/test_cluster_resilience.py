"""Real processes through faults: a matcher restarted rebuilds its books from the ledger; an
order while the database is down gets a retryable 503 and succeeds once it is back."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.support.http import call
from tests.support.net import wait_for
from tests.testbed.cluster import Cluster

pytestmark = pytest.mark.cluster


def place(cluster: Cluster, account: str, symbol: str, side: str, quantity: int,
          price: str) -> tuple[int, Any]:
    return call("POST", f"{cluster.gateway}/v1/orders", {
        "account": account, "symbol": symbol, "side": side, "type": "limit",
        "quantity": quantity, "price": price})


def book(cluster: Cluster, symbol: str) -> dict[str, Any]:
    status, body = call("GET", f"{cluster.url('matcher-0')}/v1/book/{symbol}")
    assert status == 200, body
    return body


def test_a_restarted_matcher_rebuilds_its_books_from_the_ledger(cluster: Cluster) -> None:
    orders = [place(cluster, "rs-maker", "AMZN", "sell", qty, price)[1]
              for qty, price in ((5, "185.10"), (4, "185.00"), (6, "185.00"), (3, "185.20"))]
    assert place(cluster, "rs-taker", "AMZN", "buy", 2, "185.00")[0] == 201
    place(cluster, "rs-bidder", "AMZN", "buy", 8, "184.00")
    before = book(cluster, "AMZN")
    assert before["asks"][0] == {"price_ticks": 18500, "orders": 2, "quantity": 8}

    assert cluster.stop("matcher-0") == 0  # SIGTERM: a graceful exit
    status, body = place(cluster, "rs-taker", "AMZN", "buy", 1, "185.00")
    assert status == 503 and body["retryable"] is True
    cluster.start("matcher-0")
    assert book(cluster, "AMZN") == before

    status, sweep = place(cluster, "rs-taker", "AMZN", "buy", 10, "185.10")
    assert status == 201
    assert [(f["counter_order_id"], f["quantity"]) for f in sweep["fills"]] == [
        (orders[1]["order_id"], 2), (orders[2]["order_id"], 6), (orders[0]["order_id"], 2)]


def test_a_killed_matcher_loses_nothing_it_acknowledged(cluster: Cluster) -> None:
    acked = [place(cluster, "kill", "GOOG", "buy", 1, f"16{i}.00")[1] for i in range(5)]
    cluster.procs.stop("matcher-0", signal.SIGKILL)
    cluster.start("matcher-0")
    bids = {lvl["price_ticks"] for lvl in book(cluster, "GOOG")["bids"]}
    assert {a["price_ticks"] for a in acked} <= bids


def test_an_order_while_the_database_is_down_gets_503_then_succeeds(cluster: Cluster) -> None:
    status, before = place(cluster, "db", "MSFT", "buy", 1, "400.00")
    assert status == 201
    cluster.pg.stop()
    try:
        status, body = place(cluster, "db", "MSFT", "buy", 1, "401.00")
        assert status == 503 and body["retryable"] is True, body
        assert body["error"]["message"]
        status, body = call("GET", f"{cluster.gateway}/v1/orders/{before['order_id']}")
        assert status == 503 and body["retryable"] is True
        wait_for("the gateway to report not ready", lambda: call(
            "GET", f"{cluster.gateway}/readyz")[0] == 503, timeout=15)
    finally:
        cluster.pg.start()
    for name in ("gateway-0", "matcher-0", "matcher-1"):
        cluster.wait_ready(name)
    status, after = place(cluster, "db", "MSFT", "buy", 1, "402.00")
    assert status == 201 and after["seq"] > before["seq"]
    assert call("GET", f"{cluster.gateway}/v1/orders/{after['order_id']}")[0] == 200
    metrics = call("GET", f"{cluster.url('matcher-1')}/metrics")[1]
    assert 'matcher_orders_total{result="unavailable"} 1.0' in metrics
    assert "matcher_ledger_retries_total 0.0" not in metrics
