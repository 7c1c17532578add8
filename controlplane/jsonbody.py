"""JSON request bodies the control-plane service takes (alerts, OTLP/JSON traces), parsed
with a nesting limit checked before parsing: Python's JSON decoder recurses, so a small body
of thousands of nested arrays would otherwise end in a RecursionError (a 500) instead of a
400 naming the limit.

The testbed's services keep their own copy of the scan (testbed/service/jsonio.py): the
system under test and the tool that manages it do not import each other."""

from __future__ import annotations

import json
from typing import Any

from controlplane.errors import InvalidInput

__all__ = ["MAX_DEPTH", "loads", "nested_deeper_than"]

MAX_DEPTH = 64          # OTLP's deepest real documents are about a dozen levels
_REFUSE = object()


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


def loads(payload: bytes, *, field: str = "body", empty: Any = _REFUSE) -> Any:
    """The body as JSON, or InvalidInput naming `field`. No bytes at all are `empty` if
    given, else refused."""
    if not payload and empty is not _REFUSE:
        return empty
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"not UTF-8 text: byte {err.start}", field=field,
                           fix="Send UTF-8 JSON") from None
    if nested_deeper_than(text, MAX_DEPTH):
        raise InvalidInput(f"not accepted: JSON nested deeper than {MAX_DEPTH} levels, the "
                           "limit", field=field, fix="Send a flatter document") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"not valid JSON: {err}", field=field) from None
    except ValueError as err:       # Python's 4300-digit integer limit
        raise InvalidInput(f"not valid JSON: {str(err)[:120]}", field=field) from None
