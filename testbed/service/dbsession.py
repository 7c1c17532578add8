"""One pooled ledger connection whose every statement is a CLIENT span.

Spans are named like "ledger INSERT orders" and carry db.system=postgresql,
peer.service=ledger and the statement text (parameters are never recorded).
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from opentelemetry.trace import SpanKind, Tracer
from prometheus_client import Counter

from testbed.service.retry import error_kind

__all__ = ["Session", "span_name"]

_TABLE = re.compile(r"\b(?:into|update|from)\s+([a-z_][\w.]*)\b(?!\()", re.IGNORECASE)
_STATEMENT_CHARS = 300


def span_name(peer: str, sql: str) -> str:
    """"ledger INSERT orders" for `insert into orders ...`; "ledger SELECT" without a table."""
    words = sql.split(None, 1)
    verb = words[0].upper() if words else "SQL"
    table = _TABLE.search(sql)
    return f"{peer} {verb} {table.group(1)}" if table else f"{peer} {verb}"


class Session:
    def __init__(self, conn: asyncpg.Connection, tracer: Tracer, errors: Counter,
                 peer: str = "ledger") -> None:
        self.conn = conn
        self._tracer = tracer
        self._errors = errors
        self._peer = peer

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run(sql, self.conn.fetch, args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._run(sql, self.conn.fetchrow, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run(sql, self.conn.fetchval, args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self._run(sql, self.conn.execute, args)

    async def commit(self, tx: asyncpg.transaction.Transaction) -> None:
        """COMMIT `tx`, as a span of its own: the commit is where a failover bites."""
        await self._run("COMMIT", lambda _sql: tx.commit(), ())

    async def _run(self, sql: str, call: Any, args: tuple[Any, ...]) -> Any:
        attributes = {"db.system": "postgresql", "peer.service": self._peer,
                      "db.statement": " ".join(sql.split())[:_STATEMENT_CHARS]}
        with self._tracer.start_as_current_span(span_name(self._peer, sql), kind=SpanKind.CLIENT,
                                                attributes=attributes):
            try:
                return await call(sql, *args)
            except Exception as exc:
                self._errors.labels(kind=error_kind(exc)).inc()
                raise
