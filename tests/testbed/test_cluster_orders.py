"""The application services as real processes: trading, cancels, reads, sequence, traces."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.http import call
from tests.support.net import wait_for
from tests.testbed.cluster import Cluster

pytestmark = pytest.mark.cluster


def place(cluster: Cluster, **order: Any) -> tuple[int, Any]:
    return call("POST", f"{cluster.gateway}/v1/orders", order)


def placed(cluster: Cluster, **order: Any) -> dict[str, Any]:
    status, body = place(cluster, **order)
    assert status == 201, body
    return body


def limit(account: str, symbol: str, side: str, quantity: int, price: str,
          **extra: Any) -> dict[str, Any]:
    return {"account": account, "symbol": symbol, "side": side, "type": "limit",
            "quantity": quantity, "price": price, **extra}


def get_order(cluster: Cluster, order_id: str) -> dict[str, Any]:
    status, body = call("GET", f"{cluster.gateway}/v1/orders/{order_id}")
    assert status == 200, body
    return body


def test_crossing_orders_trade_with_partial_fills(cluster: Cluster) -> None:
    first = placed(cluster, **limit("ann", "AAPL", "sell", 10, "190.05"))
    second = placed(cluster, **limit("ann", "AAPL", "sell", 5, "190.06"))
    assert (first["status"], first["remaining"], first["fills"]) == ("new", 10, [])
    buy = placed(cluster, **limit("ben", "AAPL", "buy", 12, "190.10"))
    assert (buy["status"], buy["filled"], buy["remaining"]) == ("filled", 12, 0)
    assert [(f["counter_order_id"], f["price"], f["quantity"]) for f in buy["fills"]] == [
        (first["order_id"], "190.05", 10), (second["order_id"], "190.06", 2)]
    assert get_order(cluster, first["order_id"])["status"] == "filled"
    resting = get_order(cluster, second["order_id"])
    assert (resting["status"], resting["filled"], resting["remaining"]) == (
        "partially_filled", 2, 3)
    assert resting["fills"][0]["liquidity"] == "maker"
    _, book = call("GET", f"{cluster.url('matcher-0')}/v1/book/AAPL")
    assert book["asks"] == [{"price_ticks": 19006, "orders": 1, "quantity": 3}]

    partial = placed(cluster, **limit("ben", "AAPL", "buy", 5, "190.06"))
    assert (partial["status"], partial["filled"], partial["remaining"]) == (
        "partially_filled", 3, 2)
    assert call("DELETE", f"{cluster.gateway}/v1/orders/{partial['order_id']}")[0] == 200


def test_market_orders_never_rest(cluster: Cluster) -> None:
    empty = placed(cluster, account="mo", symbol="NVDA", side="buy", type="market", quantity=10)
    assert (empty["status"], empty["filled"], empty["cancelled"], empty["remaining"]) == (
        "cancelled", 0, 10, 0)
    placed(cluster, **limit("mo-maker", "NVDA", "sell", 3, "120.00"))
    thin = placed(cluster, account="mo", symbol="NVDA", side="buy", type="market", quantity=5)
    assert (thin["status"], thin["filled"], thin["cancelled"]) == ("cancelled", 3, 2)
    assert get_order(cluster, thin["order_id"])["price"] is None
    _, book = call("GET", f"{cluster.url('matcher-1')}/v1/book/NVDA")
    assert book["bids"] == [] and book["asks"] == []


def test_cancels(cluster: Cluster) -> None:
    order = placed(cluster, **limit("cal", "MSFT", "buy", 7, "409.00"))
    status, cancel = call("DELETE", f"{cluster.gateway}/v1/orders/{order['order_id']}")
    assert status == 200 and cancel["status"] == "cancelled" and cancel["seq"] > order["seq"]
    assert cancel["cancelled"] == 7 and len(cancel["trace_id"]) == 32
    after = get_order(cluster, order["order_id"])
    assert (after["status"], after["cancel_seq"], after["remaining"]) == (
        "cancelled", cancel["seq"], 0)
    status, again = call("DELETE", f"{cluster.gateway}/v1/orders/{order['order_id']}")
    assert status == 409 and again["error"]["field"] == "order_id"
    status, body = call("DELETE", f"{cluster.gateway}/v1/orders/{uuid.uuid4()}")
    assert status == 404 and body["error"]["field"] == "order_id"
    status, body = call("DELETE", f"{cluster.gateway}/v1/orders/not-a-uuid")
    assert status == 400 and body["error"]["field"] == "order_id"


def test_a_filled_order_cannot_be_cancelled(cluster: Cluster) -> None:
    maker = placed(cluster, **limit("fil", "JPM", "sell", 2, "200.00"))
    placed(cluster, **limit("fil2", "JPM", "buy", 2, "200.00"))
    status, body = call("DELETE", f"{cluster.gateway}/v1/orders/{maker['order_id']}")
    assert status == 409 and body["status"] == "filled"


def test_positions_and_quotes(cluster: Cluster) -> None:
    placed(cluster, **limit("pos-s", "GOOG", "sell", 7, "170.25"))
    placed(cluster, **limit("pos-b", "GOOG", "buy", 9, "170.30"))
    placed(cluster, **limit("pos-s", "GOOG", "sell", 1, "170.30"))
    status, body = call("GET", f"{cluster.gateway}/v1/positions/pos-b")
    assert status == 200 and body == {"account": "pos-b", "positions": [
        {"symbol": "GOOG", "net_quantity": 8, "bought": 8, "sold": 0}]}
    status, body = call("GET", f"{cluster.gateway}/v1/positions/pos-s")
    assert body["positions"] == [{"symbol": "GOOG", "net_quantity": -8, "bought": 0, "sold": 8}]
    assert call("GET", f"{cluster.gateway}/v1/positions/nobody")[1]["positions"] == []

    def quote_caught_up() -> dict[str, Any] | None:
        quote = call("GET", f"{cluster.gateway}/v1/quotes/GOOG")[1]
        return quote if quote["last_price"] == "170.30" else None
    quote = wait_for("the GOOG quote", quote_caught_up, timeout=10)
    assert (quote["last_quantity"], quote["bid"], quote["bid_size"], quote["ask"]) == (
        1, "170.30", 1, None)
    assert quote["stale"] is False
    status, quotes = call("GET", f"{cluster.gateway}/v1/quotes")
    assert status == 200 and len(quotes["quotes"]) == 8
    untraded = next(q for q in quotes["quotes"] if q["symbol"] == "XOM")
    assert untraded["last_price"] == "115.00"


def test_sequence_ids_strictly_increase_across_acks(cluster: Cluster) -> None:
    seqs = []
    for i, symbol in enumerate(["AMZN", "TSLA", "AMZN", "XOM", "TSLA", "GOOG"]):
        order = placed(cluster, **limit(f"seq{i}", symbol, "buy", 1, _low_price(symbol)))
        seqs.append(order["seq"])
        status, cancel = call("DELETE", f"{cluster.gateway}/v1/orders/{order['order_id']}")
        assert status == 200
        seqs.append(cancel["seq"])
    assert all(a < b for a, b in zip(seqs, seqs[1:], strict=False)), seqs


def _low_price(symbol: str) -> str:
    return {"AMZN": "170.00", "TSLA": "230.00", "XOM": "105.00", "GOOG": "155.00"}[symbol]


def test_duplicate_client_order_id_is_refused(cluster: Cluster) -> None:
    first = placed(cluster, **limit("dup", "TSLA", "buy", 1, "240.00", client_order_id="c-1"))
    status, body = place(cluster, **limit("dup", "TSLA", "buy", 1, "240.00",
                                          client_order_id="c-1"))
    assert status == 409 and body["error"]["field"] == "client_order_id"
    assert body["order_id"] == first["order_id"]
    other = placed(cluster, **limit("dup2", "TSLA", "buy", 1, "240.00", client_order_id="c-1"))
    assert other["client_order_id"] == "c-1"


def _first(spans: list[Any], service: str, kind: str, name: str | None = None,
           peer: str | None = None) -> Any:
    return next((s for s in spans if s.service == service and s.kind == kind
                 and name in (None, s.name)
                 and peer in (None, s.attributes.get("peer.service"))), None)


def _order_spans(spans: list[Any]) -> dict[str, Any] | None:
    """The spans an order must produce, once every process has exported its share."""
    found = {
        "gw_server": _first(spans, "gateway", "server", name="POST /v1/orders"),
        "gw_client": _first(spans, "gateway", "client", peer="matcher"),
        "m_server": _first(spans, "matcher", "server", name="POST /v1/orders"),
        "m_insert": _first(spans, "matcher", "client", name="ledger INSERT orders"),
        "m_commit": _first(spans, "matcher", "client", name="ledger COMMIT"),
    }
    return found if all(found.values()) else None


def test_one_order_is_one_trace(cluster: Cluster, otlp: Any) -> None:
    order = placed(cluster, **limit("tr", "XOM", "buy", 1, "110.00"))
    found = wait_for("the order's spans from every service",
                     lambda: _order_spans(otlp.trace(order["trace_id"])), timeout=15)
    assert found["gw_server"].parent_span_id == ""
    assert found["gw_client"].parent_span_id == found["gw_server"].span_id
    assert found["m_server"].parent_span_id == found["gw_client"].span_id
    for ledger in (found["m_insert"], found["m_commit"]):
        assert ledger.parent_span_id == found["m_server"].span_id
        assert ledger.attributes["peer.service"] == "ledger"
        assert ledger.attributes["db.system"] == "postgresql"
