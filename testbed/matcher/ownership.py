"""Fencing of symbol ownership in the ledger: at most one matcher commits on a symbol.

A matcher claims a symbol under the epoch of the shard map it serves, before it loads the
book: `claim` takes the row's lock, so it waits for the commits in flight of the previous
owner (which hold the row FOR SHARE), and the book loaded afterwards has all of them. Every
transaction that commits on the symbol reads the row FOR SHARE and checks the epoch and owner
(`check_owner`; a new order's insert carries the same check, store.py): once a newer epoch has
claimed the symbol, the old owner's transactions fail with `NotOwner` and roll back.
So two matchers can never both commit fills planned on their own copy of the same book.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from testbed.errors import TestbedError

__all__ = ["Fence", "NotOwner", "check_owner", "claim"]

_CLAIM = """
insert into symbol_owners (symbol, epoch, owner) values ($1, $2, $3)
on conflict (symbol) do update set epoch = excluded.epoch, owner = excluded.owner,
                                   claimed_at = now()
 where symbol_owners.epoch < excluded.epoch
    or (symbol_owners.epoch = excluded.epoch and symbol_owners.owner = excluded.owner)
returning epoch"""

_OWNER = "select epoch, owner from symbol_owners where symbol = $1 for share"


@dataclass(frozen=True)
class Fence:
    """Who commits (`owner`, the matcher instance) under which shard-map `epoch`."""

    epoch: int
    owner: str


class NotOwner(TestbedError):
    """Another matcher owns the symbol under a newer (or the same) epoch: do not commit."""

    def __init__(self, symbol: str, epoch: int, holder: str | None,
                 holder_epoch: int | None) -> None:
        self.symbol = symbol
        self.epoch = epoch
        self.holder = holder
        self.holder_epoch = holder_epoch
        held = (f"{holder} holds it under epoch {holder_epoch}" if holder is not None
                else "nobody has claimed it")
        super().__init__(f"{symbol}: not owned under epoch {epoch}; {held}")


async def claim(conn: Any, symbol: str, fence: Fence) -> None:
    """Take `symbol` for `fence.owner` under `fence.epoch`; `NotOwner` if a newer epoch (or
    another owner under the same epoch) holds it. Run it in its own (autocommit) statement."""
    if await conn.fetchval(_CLAIM, symbol, fence.epoch, fence.owner) is None:
        row = await conn.fetchrow("select epoch, owner from symbol_owners where symbol = $1",
                                  symbol)
        raise NotOwner(symbol, fence.epoch, row["owner"] if row else None,
                       row["epoch"] if row else None)


async def check_owner(tx: Any, symbol: str, fence: Fence) -> None:
    """Inside a commit's transaction: the symbol is still ours under `fence.epoch`, and stays
    so until COMMIT (the row is held FOR SHARE, so a claim waits for us)."""
    row = await tx.fetchrow(_OWNER, symbol)
    if row is None or row["epoch"] != fence.epoch or row["owner"] != fence.owner:
        raise NotOwner(symbol, fence.epoch, row["owner"] if row else None,
                       row["epoch"] if row else None)
