"""Step parameters from the triggering alert: `{{ labels.NAME }}` inside a parameter's string
is replaced by the value of the alert's label NAME when a run starts.

    params: {instance: "{{ labels.instance_id }}"}

Nothing else: no expressions, filters or defaults, no Jinja. Only strings inside `params` are
read (at any depth of lists and mappings, never keys), and a substituted value is never read
again as a template. A string with `{{` or `}}` that is not exactly such a template is refused.

In PromQL (a runbook's `confirm`), a template may only be the whole value of an equality
matcher, and its value is filled in as a PromQL string: whatever an alert's label holds, it
matches that one label value and cannot change the expression.

    promql: 'changes(process_start_time_seconds{instance_id="{{ labels.instance_id }}"}[1m]) >= 3'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["BadTemplate", "BadValue", "MissingLabel", "is_templated", "label_uses",
           "promql_label_uses", "substitute", "substitute_promql"]

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_LABEL = re.compile(r"\s*labels\.([A-Za-z_][A-Za-z0-9_]*)\s*")


class BadTemplate(ValueError):
    """A string at `path` holds `{{`/`}}` that is not a `{{ labels.NAME }}` template."""

    def __init__(self, path: str, text: str,
                 why: str = "only {{ labels.NAME }} is substituted") -> None:
        super().__init__(f"unsupported template: {why}")
        self.path = path
        self.text = text


class MissingLabel(KeyError):
    """The template at `path` names a label the alert (or the manual run) does not give."""

    def __init__(self, path: str, name: str, text: str) -> None:
        super().__init__(name)
        self.path = path
        self.name = name
        self.text = text


class BadValue(ValueError):
    """A label's value holds `{{` or `}}`: it would read as a template once filled in."""

    def __init__(self, path: str, name: str, value: str) -> None:
        super().__init__(f"the value of label {name!r} holds {{{{ or }}}}")
        self.path = path
        self.name = name
        self.value = value


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) of every string in `value`; paths as pydantic writes them (`a.0.b`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}.{i}" if path else str(i))


def _names(path: str, text: str) -> list[str]:
    names = []
    for match in _TEMPLATE.finditer(text):
        label = _LABEL.fullmatch(match.group(1))
        if label is None:
            raise BadTemplate(path, text)
        names.append(label.group(1))
    if "{{" in _TEMPLATE.sub("", text) or "}}" in _TEMPLATE.sub("", text):
        raise BadTemplate(path, text)
    return names


def label_uses(params: Any) -> list[tuple[str, str, str]]:
    """(path, label name, the string) of every template in `params`; BadTemplate if any
    string is a malformed one."""
    return [(path, name, text) for path, text in _walk(params)
            for name in _names(path, text)]


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and bool(_TEMPLATE.search(value))


def substitute(params: Any, labels: Mapping[str, str], path: str = "",
               quote: Callable[[str], str] = str) -> Any:
    """`params` with every template replaced by its label's value (passed through `quote`),
    in one pass."""
    if isinstance(params, str):
        _names(path, params)                        # refuses a malformed template

        def value(match: re.Match[str]) -> str:
            name = _LABEL.fullmatch(match.group(1)).group(1)  # type: ignore[union-attr]
            if name not in labels:
                raise MissingLabel(path, name, params)
            filled = str(labels[name])
            if "{{" in filled or "}}" in filled:
                raise BadValue(path, name, filled)
            return quote(filled)
        return _TEMPLATE.sub(value, params)
    if isinstance(params, Mapping):
        return {k: substitute(v, labels, f"{path}.{k}" if path else str(k), quote)
                for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return [substitute(v, labels, f"{path}.{i}" if path else str(i), quote)
                for i, v in enumerate(params)]
    return params


# an equality matcher's opening quote: `name="`, not `!=`, `=~`, `!~`
_EQUALS_OPEN = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\s*(?<![!=~<>])=\s*"$')
IN_PROMQL = 'in PromQL only as the whole value of an = matcher: name="{{ labels.NAME }}"'


def promql_label_uses(expr: str, path: str = "promql") -> list[str]:
    """The labels the templates of a PromQL expression take; BadTemplate if one is malformed
    or stands anywhere but as the whole value of an equality matcher."""
    names = _names(path, expr)
    for match in _TEMPLATE.finditer(expr):
        if not (_EQUALS_OPEN.search(expr[:match.start()])
                and expr[match.end():match.end() + 1] == '"'):
            raise BadTemplate(path, expr, IN_PROMQL)
    return names


def _promql_string(value: str) -> str:
    """`value` as the inside of a double-quoted PromQL string (Go's escapes, which JSON's
    are a subset of): quotes, backslashes and control characters escaped."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def substitute_promql(expr: str, labels: Mapping[str, str], path: str = "promql") -> str:
    """`expr` with each matcher template filled as a PromQL string."""
    promql_label_uses(expr, path)
    return substitute(expr, labels, path, _promql_string)
