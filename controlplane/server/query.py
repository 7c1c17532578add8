"""Query-string parameters of the API's read routes, checked: a bad one is a 400 naming it."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from controlplane.errors import InvalidInput

__all__ = ["query_number"]


def query_number(request: web.Request, name: str, default: float, low: float, high: float,
                 kind: Callable[[str], float]) -> float:
    """The query parameter `name` as `kind` (int or float) within [low, high], or `default`
    when absent or empty; InvalidInput naming it otherwise."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise InvalidInput(f"must be {'an integer' if kind is int else 'a number'}",
                           field=name, value=raw) from None
    if not low <= value <= high:  # also refuses NaN
        raise InvalidInput(f"must be between {low:g} and {high:g}", field=name, value=raw)
    return value
