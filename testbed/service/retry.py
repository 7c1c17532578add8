"""Retrying ledger work through a failover: which errors are worth retrying, and the loop.

Connection-class errors (the primary went away, is shutting down, is in recovery, is a
read-only standby, or the call timed out) are retried with a short exponential backoff
(50 ms doubling to 500 ms) until the caller's deadline; anything else is raised at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from testbed.errors import LedgerUnavailable

__all__ = ["Retryable", "error_kind", "is_connection_error", "retry_until"]

T = TypeVar("T")


class Retryable(Exception):
    """Raised by an attempt to ask for another one (e.g. after reloading stale state)."""


_CONNECTION_CLASSES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # includes ConnectionDoesNotExistError
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.TooManyConnectionsError,
    ConnectionError,
    OSError,
    TimeoutError,
    LedgerUnavailable,
    Retryable,
)
_CONNECTION_MESSAGES = ("recovery mode", "shutting down", "connection is closed",
                        "connection was closed", "not yet accepting connections")


def is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, _CONNECTION_CLASSES):
        return True
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        message = str(exc).lower()
        return any(text in message for text in _CONNECTION_MESSAGES)
    return False


def error_kind(exc: BaseException) -> str:
    """A small, fixed set of labels for `db_errors_total{kind}`."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if is_connection_error(exc):
        return "connection"
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return "constraint"
    return "query"


async def retry_until(attempt: Callable[[], Awaitable[T]], *, deadline: float,
                      on_retry: Callable[[BaseException], None] = lambda exc: None,
                      clock: Callable[[], float] = time.monotonic,
                      sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                      first_delay: float = 0.05, max_delay: float = 0.5) -> T:
    """Run `attempt` until it succeeds, raises a non-connection error, or `deadline` passes
    (then `LedgerUnavailable` from the last error)."""
    delay = first_delay
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            remaining = deadline - clock()
            if remaining <= 0:
                raise LedgerUnavailable(f"the ledger is unavailable: {_describe(exc)}") from exc
            on_retry(exc)
            await sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
