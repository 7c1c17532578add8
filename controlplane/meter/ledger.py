"""Reconcile acknowledged orders against the ledger after recovery."""

from __future__ import annotations

import uuid

import asyncpg

__all__ = ["present_orders"]

CHUNK = 5000


async def present_orders(dsn: str, order_ids: list[str], query_timeout: float = 10.0) -> set[str]:
    """Which of `order_ids` the ledger has (through the primary's proxy)."""
    conn = await asyncpg.connect(dsn, timeout=query_timeout)
    try:
        found: set[str] = set()
        for i in range(0, len(order_ids), CHUNK):
            chunk = [uuid.UUID(o) for o in order_ids[i:i + CHUNK]]
            rows = await conn.fetch("select order_id from orders where order_id = any($1::uuid[])",
                                    chunk, timeout=query_timeout)
            found.update(str(r["order_id"]) for r in rows)
        return found
    finally:
        await conn.close()
