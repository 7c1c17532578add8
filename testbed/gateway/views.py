"""What the gateway answers: prices rendered as decimal strings with the symbol's tick."""

from __future__ import annotations

from typing import Any

from testbed.gateway.validation import OrderRequest
from testbed.ledger.queries import OrderRow, Position, TradeRow
from testbed.trading import Instrument

__all__ = ["ack_view", "order_view", "positions_view"]


def ack_view(ack: dict[str, Any], order: OrderRequest, instrument: Instrument,
             trace_id: str) -> dict[str, Any]:
    """The matcher's ack, with the order's terms and the fills' prices as decimals."""
    fills = [{**fill, "price": instrument.render(fill.get("price_ticks"))}
             for fill in ack.get("fills", [])]
    return {**ack, "account": order.account, "client_order_id": order.client_order_id,
            "side": order.side, "type": order.type, "quantity": order.quantity,
            "price": None if order.price is None else instrument.render(order.price_ticks),
            "price_ticks": order.price_ticks, "fills": fills, "trace_id": trace_id}


def order_view(row: OrderRow, trades: list[TradeRow],
               instrument: Instrument | None) -> dict[str, Any]:
    def render(ticks: int | None) -> str | None:
        if ticks is None:
            return None
        return instrument.render(ticks) if instrument is not None else str(ticks)

    fills = [{"trade_id": t.trade_id, "seq": t.seq, "price": render(t.price_ticks),
              "price_ticks": t.price_ticks, "quantity": t.quantity,
              "counter_order_id": t.counter_order_id(row.order_id),
              "liquidity": "taker" if t.seq == row.seq else "maker"} for t in trades]
    return {"order_id": row.order_id, "seq": row.seq, "account": row.account,
            "client_order_id": row.client_order_id, "symbol": row.symbol, "side": row.side,
            "type": row.type, "price": render(row.price_ticks), "price_ticks": row.price_ticks,
            "quantity": row.quantity, "filled": row.filled,
            "remaining": row.quantity - row.filled if row.is_open else 0,
            "status": row.status, "cancel_seq": row.cancel_seq,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
            "fills": fills}


def positions_view(account: str, positions: list[Position]) -> dict[str, Any]:
    return {"account": account,
            "positions": [{"symbol": p.symbol, "net_quantity": p.net, "bought": p.bought,
                           "sold": p.sold} for p in positions]}
