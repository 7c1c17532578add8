"""Load on a ledger node (DSN in PGLOAD_DSN): hold --connections open, or take an exclusive
lock on a table for --hold-ms every --every-ms. Stops by itself after --duration seconds."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from pathlib import Path

import asyncpg

CONNECT_TIMEOUT_S = 10.0   # generous: a loaded machine forks backends slowly
TOP_UP_S = 0.2             # how often a full server is asked again, to take a freed slot


async def hold(dsn: str, count: int, duration: float, beat: Path) -> None:
    """Open up to `count` connections and keep the server full until `duration` ends.

    Only the server's own refusal (SQLSTATE 53300, too many connections) counts as full; a
    connection attempt that times out or fails otherwise is tried again, so a slow machine
    does not end the filling early. While full, ask again every TOP_UP_S: a slot another
    client frees is taken back at once. The progress file says `N refused` while the server
    refuses us, `N all` once `count` are held, `N retry` after an attempt that failed otherwise,
    and `N` while still connecting."""
    end = time.monotonic() + duration
    conns: list[asyncpg.Connection] = []
    try:
        while time.monotonic() < end:
            state = "all" if len(conns) >= count else await _one_more(dsn, conns)
            beat.write_text(f"{len(conns)} {state}".strip())  # noqa: ASYNC240 (a tiny file)
            if state:
                await asyncio.sleep(min(TOP_UP_S, max(0.0, end - time.monotonic())))
    finally:
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.close()


async def _one_more(dsn: str, conns: list[asyncpg.Connection]) -> str:
    """Try one more connection: '' when it was taken, 'refused' when the server is full,
    'retry' when the attempt failed for another reason (a timeout, a restarting server)."""
    try:
        conns.append(await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S))
    except asyncpg.TooManyConnectionsError:
        return "refused"                # the server refuses more: that is the point
    except (asyncpg.PostgresError, OSError):
        return "retry"
    return ""


async def lock(dsn: str, table: str, hold_ms: int, every_ms: int, duration: float,
               beat: Path) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    end, cycles = time.monotonic() + duration, 0
    try:
        while time.monotonic() < end:
            async with conn.transaction():
                await conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                await asyncio.sleep(hold_ms / 1000)
            cycles += 1
            beat.write_text(str(cycles))  # noqa: ASYNC240
            await asyncio.sleep(max(0.0, (every_ms - hold_ms) / 1000))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--connections", type=int, default=0)
    parser.add_argument("--lock-table", default="")
    parser.add_argument("--hold-ms", type=int, default=500)
    parser.add_argument("--every-ms", type=int, default=1000)
    args = parser.parse_args()
    beat = Path("progress")
    dsn = os.environ["PGLOAD_DSN"]          # not on the command line: it holds a password
    if args.connections:
        asyncio.run(hold(dsn, args.connections, args.duration, beat))
    else:
        asyncio.run(lock(dsn, args.lock_table, args.hold_ms, args.every_ms, args.duration,
                         beat))


if __name__ == "__main__":
    main()
