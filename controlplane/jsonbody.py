"""JSON request bodies the control-plane service takes (alerts, OTLP/JSON traces), parsed
with a nesting limit checked before parsing: Python's JSON decoder recurses, so a small body
of thousands of nested arrays would otherwise end in a RecursionError (a 500) instead of a
400 naming the limit.

What Python's decoder takes but RFC 8259 does not is refused too, each naming the problem:
NaN and Infinity, a number beyond a double (Python makes it inf), an integer of more than
4300 digits (Python's own limit), and a lone surrogate escape such as "\\ud800", which no
UTF-8 text can hold (RFC 8259 section 8.2), so it would fail later wherever it is encoded.

The testbed's services keep their own copy of the scan (testbed/service/jsonio.py): the
system under test and the tool that manages it do not import each other."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from controlplane.errors import InvalidInput

__all__ = ["MAX_DEPTH", "loads", "nested_deeper_than"]

MAX_DEPTH = 64          # OTLP's deepest real documents are about a dozen levels
MAX_DIGITS = 4300       # Python's int/str conversion limit (sys.get_int_max_str_digits)
_REFUSE = object()
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


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
        document = json.loads(text, parse_constant=_constant, parse_float=_float,
                              parse_int=_int)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"not valid JSON: {err}", field=field) from None
    except _Refused as err:
        raise InvalidInput(f"not accepted: {err}", field=field) from None
    if _SURROGATE_ESCAPE.search(text):
        where = _lone_surrogate(document, "")
        if where is not None:
            raise InvalidInput(f"not accepted: a lone surrogate escape in the string at "
                               f"{where or '(top)'}", field=field,
                               fix="Send valid Unicode: a \\ud800-\\udbff escape must be "
                                   "followed by a \\udc00-\\udfff one")
    return document


class _Refused(ValueError):
    """A number that JSON or Python cannot hold; json.loads passes it through."""


def _constant(name: str) -> float:
    raise _Refused(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"the number {text[:40]} is too large for a double")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Refused(f"an integer of more than {MAX_DIGITS} digits")
    return int(text)


def _lone_surrogate(value: Any, path: str) -> str | None:
    """Where in a parsed document a string or a key holds a lone surrogate, else None."""
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{_printable(key)}" if path else _printable(key)
            found = where if _SURROGATE.search(key) else _lone_surrogate(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _printable(key: str) -> str:
    """A key as a path shows it: surrogates as escapes, at most 60 characters."""
    text = key.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 60 else text[:57] + "..."
