"""How the gateway turns its peers' answers and failures into its own replies."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import TypeVar

from testbed.errors import ApiError, LedgerUnavailable
from testbed.service.client import Reply, Unreachable

__all__ = ["message_of", "or_unavailable", "parse_order_id", "unavailable"]

T = TypeVar("T")


def unavailable(message: str) -> ApiError:
    """A 503 the client may retry."""
    return ApiError(503, message, retryable=True)


def parse_order_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ApiError(400, "not a UUID", field="order_id", value=text) from None


async def or_unavailable(call: Awaitable[T]) -> T:
    """Await a ledger read or a peer call; an unreachable peer or ledger is a 503."""
    try:
        return await call
    except (Unreachable, LedgerUnavailable) as exc:
        raise unavailable(str(exc)) from exc


def message_of(reply: Reply) -> str:
    """The message of a peer's JSON error, or a description of its status."""
    body = reply.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        if isinstance(message, str):
            return message
    return f"the peer answered HTTP {reply.status}"
