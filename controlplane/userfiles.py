"""Reading the files users write: topology, experiments, runbooks, SLO policy, guardrails, load
gates and load profiles, all through `read_document` (or `read_documents` for a multi-document
YAML file, such as OpenSLO's).

A user file is bounded before anything looks at its values: its size, its nesting depth and
the number of values it holds once YAML aliases are expanded (a "billion laughs" file is a few
hundred bytes and billions of values). Its bytes must be UTF-8, its numbers finite. Every way
a file can be wrong ends in `InvalidInput` (or the subclass the caller names) naming the file,
never in a traceback: not `UnicodeDecodeError`, not `RecursionError`, not Python's 4300-digit
integer limit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import yaml

from controlplane.errors import InvalidInput

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_VALUES", "first_error", "read_document",
           "read_documents"]

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_VALUES = 100_000
Syntax = Literal["yaml", "json"]
_Parsed = Literal["yaml", "json", "multi"]


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        super().__init__(mark)
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting beyond MAX_DEPTH while it composes (so a
    100,000-deep file never reaches Python's recursion limit)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_document(path: Path, *, syntax: Syntax = "yaml",
                  error: type[InvalidInput] = InvalidInput, fix: str = "") -> Any:
    """The parsed file, checked for size, encoding, nesting, expansion and finite numbers.
    An empty file (or one of only comments, or null) is refused: no user file means
    nothing. `fix` is the hint for a file that is missing or empty."""
    source = str(path)
    text = _text(path, source, error, fix)
    if not text.strip():
        raise error("the file is empty", source=source, fix=fix or "Write the file out")
    data = _parse(text, syntax, source, error)
    if data is None:
        raise error("the file holds no value (only comments or null)", source=source,
                    fix=fix or "Write the file out")
    _Checker(source, error).measure(data, "", 0)
    return data


def read_documents(path: Path, *, error: type[InvalidInput] = InvalidInput,
                   fix: str = "") -> list[Any]:
    """Every document of a multi-document YAML file (`---` between them), under the same
    bounds as `read_document` for the file as a whole. Empty documents (a trailing `---`)
    are dropped; a file with none left is refused as empty."""
    source = str(path)
    text = _text(path, source, error, fix)
    if not text.strip():
        raise error("the file is empty", source=source, fix=fix or "Write the file out")
    docs = [d for d in _parse(text, "multi", source, error) if d is not None]
    if not docs:
        raise error("the file holds no value (only comments or null)", source=source,
                    fix=fix or "Write the file out")
    checker = _Checker(source, error)
    total = 0
    for index, doc in enumerate(docs):
        total += checker.measure(doc, f"document {index + 1}" if len(docs) > 1 else "", 0)
        if total > MAX_VALUES:
            raise error(f"holds more than {MAX_VALUES} values in all", source=source,
                        fix="Split the file")
    return docs


def _text(path: Path, source: str, error: type[InvalidInput], fix: str) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise error("file not found", source=source,
                    fix=fix or "Pass an existing file") from None
    except OSError as err:
        raise error(f"cannot read: {err.strerror or err}", source=source,
                    fix=fix or "Pass an existing, readable file") from None
    if len(raw) > MAX_BYTES:
        raise error(f"larger than the {MAX_BYTES // 1024} KiB a user file may be",
                    source=source, fix="Check that this is the file you meant") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(f"not UTF-8 text: byte 0x{raw[err.start]:02x} at offset {err.start}",
                    source=source, fix="Save the file as UTF-8 text") from None


def _parse(text: str, syntax: _Parsed, source: str, error: type[InvalidInput]) -> Any:
    name = "JSON" if syntax == "json" else "YAML"
    try:
        if syntax == "multi":
            return _yaml_all(text)
        return _yaml(text) if syntax == "yaml" else _json(text)
    except _TooDeep as err:
        raise error(f"nested deeper than {MAX_DEPTH} levels", source=source,
                    field=_at(err.mark), fix="Flatten the file") from None
    except RecursionError:
        raise error(f"nested deeper than {MAX_DEPTH} levels", source=source,
                    fix="Flatten the file") from None
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or err
        raise error(f"not valid YAML: {_cut(str(problem))}", source=source,
                    field=_at(getattr(err, "problem_mark", None)),
                    fix="Fix the YAML syntax at that position") from None
    except json.JSONDecodeError as err:
        raise error(f"not valid JSON: {err.msg}", source=source,
                    field=f"line {err.lineno}, column {err.colno}",
                    fix="Fix the JSON syntax at that position") from None
    except ValueError as err:       # Python's 4300-digit limit, or a NaN/Infinity constant
        raise error(f"not valid {name}: {_number_problem(err)}", source=source,
                    fix="Use a finite number of sane size") from None


def _yaml(text: str) -> Any:
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _yaml_all(text: str) -> list[Any]:
    loader = _BoundedLoader(text)
    try:
        docs = []
        while loader.check_data():
            docs.append(loader.get_data())
        return docs
    finally:
        loader.dispose()


def _json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a number a user file may hold")
    return json.loads(text, parse_constant=refuse)


def _number_problem(err: ValueError) -> str:
    text = str(err)
    if "digits" in text:
        return "a number has more digits than Python converts (4300)"
    return _cut(text)


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _Checker:
    """Walks the parsed value once: nesting, expanded size (shared nodes counted each time
    they appear, computed once), self-reference and finite numbers."""

    def __init__(self, source: str, error: type[InvalidInput]) -> None:
        self.source, self.error = source, error
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def measure(self, value: Any, where: str, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels", source=self.source,
                             field=where, fix="Flatten the file")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error("not a finite number", source=self.source, field=where or
                             "(top level)", value=value, fix="Use a finite number")
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key in self.sizes:
            return self.sizes[key]
        if key in self.open:
            raise self.error("refers to itself (a YAML alias inside its own anchor)",
                             source=self.source, field=where, fix="Remove the alias")
        self.open.add(key)
        size = self._children(value, where, depth)
        self.open.discard(key)
        self.sizes[key] = size
        return size

    def _children(self, value: dict[Any, Any] | list[Any], where: str, depth: int) -> int:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        size = 1
        for name, child in items:
            size += self.measure(child, f"{where}.{name}" if where else str(name), depth + 1)
            if size > MAX_VALUES:
                raise self.error(f"holds more than {MAX_VALUES} values once its YAML aliases "
                                 "are expanded", source=self.source, field=where or
                                 "(top level)", fix="Write the values out, without aliases "
                                 "that repeat aliases")
        return size


def first_error(errors: list[dict[str, Any]]) -> tuple[str, str, Any]:
    """(field, message, value) of pydantic's first error, the value None when missing."""
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"]) or "(top level)"
    value = None if first["type"] == "missing" else first.get("input")
    return field, first["msg"].removeprefix("Value error, "), value
