"""Ledger faults below the process level: WAL replay paused on a standby, connection
exhaustion and lock contention on the primary. (Killing the primary or the standby is
process-kill with target ledger:primary or ledger:standby.)"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import asyncpg
from pydantic import Field

from controlplane.chaos.faults.base import Evidence, FaultKind, FaultTarget, Timed, register
from controlplane.errors import InvalidInput

__all__ = ["new_client_refused", "sql"]


def sql(dsn: str, query: str) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            return await conn.fetchval(query, timeout=5)
        finally:
            await conn.close()
    return asyncio.run(run())


REPLAY = "startup recovering"      # PostgreSQL's WAL replay process on a standby


def _stop_replay(ctx, target: FaultTarget, params: Timed, tag: str) -> dict[str, Any]:
    """Freeze the standby's replay process. (pg_wal_replay_pause() would not hold: Patroni
    resumes paused replay on every loop for PostgreSQL 14 and newer.)"""
    for inst in target.instances:
        if not ctx.platform.resources().freeze_processes(inst, REPLAY):
            raise InvalidInput("no WAL replay process: the node is not a standby",
                               field="target", value=inst, fix="Target ledger:standby")
    return {}


def _replay_states(ctx, target: FaultTarget) -> dict[str, list[str]]:
    return {inst: ctx.platform.resources().process_states(inst, REPLAY)
            for inst in target.instances}


def _replay_stopped(ctx, target, params, tag: str, notes: dict) -> Evidence:
    states = _replay_states(ctx, target)
    ok = all(s and all(x == "frozen" for x in s) for s in states.values())
    return Evidence(ok, f"replay process states: {states}", {"states": states})


def _resume_replay(ctx, target: FaultTarget, params: Timed, tag: str) -> None:
    for inst in target.instances:
        ctx.platform.resources().thaw_processes(inst, REPLAY)


def _replay_running(ctx, target, params, tag: str) -> Evidence:
    states = _replay_states(ctx, target)
    ok = all("frozen" not in s for s in states.values())
    return Evidence(ok, f"replay process states: {states}")


register(FaultKind("ledger-replication-pause", "stop WAL replay on a standby (it keeps "
                   "receiving, falls behind in applying; reads there go stale)", Timed,
                   ("ledger",), _stop_replay, _replay_stopped, _resume_replay, _replay_running,
                   category="ledger"))


class Connections(Timed):
    connections: int = Field(180, ge=1, le=1000)


class Locks(Timed):
    table: str = Field("orders", pattern=r"^(orders|trades)$")
    hold_ms: int = Field(500, ge=10, le=10_000)
    every_ms: int = Field(1000, ge=20, le=60_000)


def _pgload(args_of):
    """Load as the application user (through the write endpoint, i.e. on the primary), so the
    superuser's reserved connections stay free for operators and for our own checks."""
    def inject(ctx, target: FaultTarget, params, tag: str) -> dict[str, Any]:
        role = ctx.platform.health(target.instances[0]).role
        if role != "primary":
            raise InvalidInput("this fault loads the primary through the write endpoint",
                               field="target", value=f"{target.instances[0]} ({role})",
                               fix="Target ledger:primary")
        ctx.platform.resources().spawn_helper(
            tag, None, [sys.executable, "-m", "controlplane.chaos.helpers.pgload",
                        "--duration", str(params.duration_s), *args_of(params)],
            env={"PGLOAD_DSN": ctx.platform.ledger_dsn()})
        return {}
    return inject


def _progress(ctx, tag: str) -> tuple[int, str]:
    """The helper's progress file: a count and its last state (see helpers/pgload.py)."""
    path = ctx.platform.workspace.scratch(tag) / "progress"
    try:
        count, _, state = path.read_text().partition(" ")
        return int(count or 0), state.strip()
    except (OSError, ValueError):
        return 0, ""


PROBE_TIMEOUT_S = 10.0     # a loaded machine may take seconds to fork a backend


def new_client_refused(dsn: str) -> tuple[bool, str]:
    """Connect as a new client would: whether the server refused it for want of slots
    (SQLSTATE 53300), and what happened. A timeout or any other failure is not a refusal."""
    async def attempt() -> tuple[bool, str]:
        try:
            conn = await asyncpg.connect(dsn, timeout=PROBE_TIMEOUT_S)
        except asyncpg.TooManyConnectionsError as err:
            return True, f"refused ({err})"
        except (asyncpg.PostgresError, OSError) as err:
            return False, f"no answer ({type(err).__name__}: {err})"
        await conn.close()
        return False, "accepted"
    return asyncio.run(attempt())


OTHER_BACKENDS = ("select count(*) from pg_stat_activity where backend_type = 'client "
                  "backend' and usename <> current_user")   # asked as the superuser


def _holding(ctx, target, params: Connections, tag: str, notes: dict) -> Evidence:
    """Observed on the server, not inferred from the helper's progress: once the helper met a
    refusal, a new client of the application (through the write endpoint) must be refused
    too; once it holds all it asked for, the server must show at least that many clients."""
    held, state = _progress(ctx, tag)
    if state == "refused":
        ok, seen = new_client_refused(ctx.platform.ledger_dsn())
        seen = f"a new client: {seen}"
    else:
        clients = sql(ctx.platform.ledger_admin_dsn(target.instances[0]), OTHER_BACKENDS)
        ok = state == "all" and held >= params.connections and clients >= held
        seen = f"the server has {clients} client backends besides the superuser's"
    return Evidence(ok, f"helper holds {held} connections ({state or 'still connecting'}); "
                    f"{seen}", {"held": held, "saturated": state == "refused" and ok})


def _locking(ctx, target, params: Locks, tag: str, notes: dict) -> Evidence:
    cycles, _ = _progress(ctx, tag)
    return Evidence(cycles > 0, f"{cycles} exclusive-lock cycles on {params.table}",
                    {"cycles": cycles})


def _stop(ctx, target, params, tag: str) -> None:
    ctx.platform.resources().stop_helpers(tag)


def _stopped(ctx, target, params, tag: str) -> Evidence:
    left = ctx.platform.resources().helpers(tag)
    return Evidence(not left, "load stopped" if not left else f"still running: {left}")


register(FaultKind("ledger-connection-exhaustion", "hold `connections` open on the primary "
                   "until it refuses more (the superuser's reserved slots stay free)", Connections,
                   ("ledger",),
                   _pgload(lambda p: ["--connections", str(p.connections)]), _holding, _stop,
                   _stopped, category="ledger"))
register(FaultKind("ledger-lock-contention", "take an exclusive lock on a table of the primary "
                   "for hold_ms every every_ms (writes queue behind it: slow queries)", Locks,
                   ("ledger",),
                   _pgload(lambda p: ["--lock-table", p.table, "--hold-ms", str(p.hold_ms),
                                      "--every-ms", str(p.every_ms)]), _locking, _stop,
                   _stopped, category="ledger"))
