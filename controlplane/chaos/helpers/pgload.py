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


async def hold(dsn: str, count: int, duration: float, beat: Path) -> None:
    conns, why = [], "all"
    for _ in range(count):
        try:
            conns.append(await asyncpg.connect(dsn, timeout=5))
        except (asyncpg.PostgresError, OSError):
            why = "refused"             # the server refuses more: that is the point
            break
        beat.write_text(str(len(conns)))  # noqa: ASYNC240 (a tiny local file)
    beat.write_text(f"{len(conns)} {why}")  # noqa: ASYNC240
    await asyncio.sleep(duration)
    for conn in conns:
        with contextlib.suppress(Exception):
            await conn.close()


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
