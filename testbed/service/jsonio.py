"""JSON in and out: exact decimals in, errors as `{"error": {"field", "value", "message"}}` out.

A body nested deeper than MAX_DEPTH is refused before it is parsed: Python's JSON decoder
recurses, so a 30 KB body of 5,000 nested arrays would otherwise end in a RecursionError (a
500) instead of a 400 naming the limit."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from testbed.errors import ApiError

__all__ = ["MAX_DEPTH", "dumps", "error_response", "json_response", "nested_deeper_than",
           "parse_json", "read_json", "validate_body"]

M = TypeVar("M", bound=BaseModel)
MAX_DEPTH = 32          # far beyond any request this API takes


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


def dumps(body: Any) -> str:
    return json.dumps(body, default=_default, allow_nan=False)


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json")


def error_response(error: ApiError) -> web.Response:
    return json_response(error.body(), error.status)


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether JSON `text` opens more than `limit` arrays/objects at once (strings skipped)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def parse_json(text: str) -> Any:
    """Parse `text`; numbers with a fraction or exponent become exact `Decimal`s. Nesting
    beyond MAX_DEPTH is a ValueError naming the limit."""
    if nested_deeper_than(text, MAX_DEPTH):
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels, the limit")
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 400 naming `body`."""
    try:
        text = await request.text()
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text", field="body") from None
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, f"the body is too large: {exc.text}", field="body") from None
    try:
        return parse_json(text)
    except ValueError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", field="body",
                       value=text[:200]) from None


def validate_body(model: type[M], data: Any, status: int = 422) -> M:
    """`data` as `model`, or an `ApiError` naming the first bad field and its value."""
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", field="body", value=data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        value = None if first["type"] == "missing" else first.get("input")
        raise ApiError(status, first["msg"], field=field, value=value) from None
