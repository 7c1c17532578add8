"""The matcher's writes to the ledger: one transaction per acknowledgement.

A new order's transaction inserts the order (seq = nextval('ack_seq')), updates the resting
orders it filled and inserts the trades. If the ledger's resting orders do not match what the
book planned, `BookDiverged` aborts it so that the book can be reloaded. Every transaction
checks, FOR SHARE, that this matcher still owns the symbol under its epoch (`NotOwner`
otherwise, see ownership.py): a new order's insert carries the check itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from testbed.ledger.queries import OrderRow, find_order
from testbed.matcher.orders import MatchPlan
from testbed.matcher.ownership import Fence, NotOwner, check_owner
from testbed.service.db import Database
from testbed.service.retry import Retryable

__all__ = ["BookDiverged", "CancelOutcome", "Committed", "cancel_order", "commit_order"]

# The fence rides on the insert (no extra round trip): nothing is inserted, and no row comes
# back, unless this matcher owns the symbol under its epoch; the row stays held FOR SHARE.
_INSERT_ORDER = """
insert into orders (order_id, seq, account, client_order_id, symbol, side, type, price_ticks,
                    quantity, filled, status)
select $1::uuid, nextval('ack_seq'), $2::text, $3::text, $4::text, $5::text, $6::text,
       $7::bigint, $8::bigint, $9::bigint, $10::text
 where exists (select 1 from symbol_owners
                where symbol = $4::text and epoch = $11::bigint and owner = $12::text
                  for share)
returning seq"""

_FILL_RESTING = """
update orders o
   set filled = o.filled + f.quantity,
       status = case when o.filled + f.quantity = o.quantity then 'filled'
                     else 'partially_filled' end,
       updated_at = now()
  from unnest($1::uuid[], $2::bigint[]) as f(order_id, quantity)
 where o.order_id = f.order_id and o.symbol = $3 and o.status in ('new', 'partially_filled')
returning o.order_id, o.quantity - o.filled as remaining"""

_INSERT_TRADES = """
insert into trades (seq, symbol, price_ticks, quantity, buy_order_id, sell_order_id,
                    buy_account, sell_account, aggressor_side)
select $1, $2, t.price, t.quantity, t.buy_id, t.sell_id, t.buy_account, t.sell_account, $3
  from unnest($4::bigint[], $5::bigint[], $6::uuid[], $7::uuid[], $8::text[], $9::text[])
       as t(price, quantity, buy_id, sell_id, buy_account, sell_account)
returning trade_id, buy_order_id, sell_order_id"""

_CANCEL = """
update orders set status = 'cancelled', cancel_seq = nextval('ack_seq'), updated_at = now()
 where order_id = $1
returning cancel_seq"""


class BookDiverged(Retryable):
    """The ledger's resting orders are not what the in-memory book planned against."""


@dataclass(frozen=True)
class Committed:
    seq: int
    trade_ids: dict[str, int]  # counter (resting) order id -> trade id


@dataclass(frozen=True)
class CancelOutcome:
    row: OrderRow | None  # the order as it was before the cancel; None when unknown
    cancel_seq: int | None  # set when this transaction cancelled it


async def commit_order(db: Database, symbol: str, client_order_id: str | None,
                       plan: MatchPlan, fence: Fence) -> Committed:
    order = plan.order
    async with db.transaction() as tx:
        seq = await tx.fetchval(
            _INSERT_ORDER, uuid.UUID(order.order_id), order.account, client_order_id, symbol,
            order.side, order.type, order.price_ticks, order.quantity, plan.filled, plan.status,
            fence.epoch, fence.owner)
        if seq is None:
            await check_owner(tx, symbol, fence)      # raises NotOwner naming the holder
            raise NotOwner(symbol, fence.epoch, None, None)
        if not plan.fills:
            return Committed(seq, {})
        updated = await tx.fetch(
            _FILL_RESTING, [uuid.UUID(f.resting_order_id) for f in plan.fills],
            [f.quantity for f in plan.fills], symbol)
        _check_fills(plan, {str(r["order_id"]): r["remaining"] for r in updated})
        trades = await tx.fetch(_INSERT_TRADES, seq, symbol, order.side, *_trade_columns(plan))
    counter = "sell_order_id" if order.side == "buy" else "buy_order_id"
    return Committed(seq, {str(r[counter]): r["trade_id"] for r in trades})


def _check_fills(plan: MatchPlan, remaining: dict[str, int]) -> None:
    for fill in plan.fills:
        if remaining.get(fill.resting_order_id) != fill.resting_remaining:
            raise BookDiverged(
                f"resting order {fill.resting_order_id}: the book expected "
                f"{fill.resting_remaining} remaining, the ledger has "
                f"{remaining.get(fill.resting_order_id, 'no open order')}")


def _trade_columns(plan: MatchPlan) -> list[list[object]]:
    order, fills = plan.order, plan.fills
    mine, theirs = [uuid.UUID(order.order_id)] * len(fills), [
        uuid.UUID(f.resting_order_id) for f in fills]
    my_accounts, their_accounts = [order.account] * len(fills), [
        f.resting_account for f in fills]
    buy_is_mine = order.side == "buy"
    return [
        [f.price_ticks for f in fills], [f.quantity for f in fills],
        mine if buy_is_mine else theirs, theirs if buy_is_mine else mine,
        my_accounts if buy_is_mine else their_accounts,
        their_accounts if buy_is_mine else my_accounts,
    ]


async def cancel_order(db: Database, order_id: str, symbol: str, fence: Fence) -> CancelOutcome:
    """Cancel an open order (locking its row); an unknown or final order is left alone."""
    async with db.transaction() as tx:
        await check_owner(tx, symbol, fence)
        row = await find_order(tx, order_id, for_update=True)
        if row is None or not row.is_open:
            return CancelOutcome(row, None)
        cancel_seq = await tx.fetchval(_CANCEL, uuid.UUID(order_id))
    return CancelOutcome(row, cancel_seq)
