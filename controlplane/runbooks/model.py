"""Runbooks as YAML in runbooks/: a trigger, the checks that confirm the alert's condition,
preconditions, and steps from the action registry, each with a timeout, retries, a verification
and a rollback. Refused at load time, naming the file and the step: an unknown action, a missing
or wrong parameter, a PromQL expression that Prometheus's own parser rejects, a parameter
template (`{{ labels.NAME }}`, templates.py) that names a label the trigger's alert does not
carry, and a runbook that an alert starts and whose steps act but that confirms nothing.

`resolve` gives the runbook a run executes: its templates filled from the alert's labels (or
a manual run's), every parameter then checked again by its action's model."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from controlplane.errors import InvalidInput
from controlplane.host.tools import require
from controlplane.runbooks import links
from controlplane.runbooks.actions import ACTIONS
from controlplane.runbooks.templates import (
    BadTemplate,
    BadValue,
    MissingLabel,
    is_templated,
    label_uses,
    promql_label_uses,
    substitute,
    substitute_promql,
)
from controlplane.userfiles import first_error, read_document

__all__ = ["RUNBOOKS_DIR", "Call", "Check", "Runbook", "Step", "Trigger", "load_runbook",
           "load_runbooks", "resolve", "template_labels"]

RUNBOOKS_DIR = links.RUNBOOKS_DIR


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Call(_M):
    action: str
    params: dict[str, Any] = Field(default_factory=dict)


class Check(_M):
    """A PromQL expression that must return a non-empty result, or an action that only checks
    (a probe) and must succeed; polled until `within_s`. A step's `verify` is one, after the
    step; the runbook's `confirm` is a list of them, before its first action."""

    promql: str | None = None
    action: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    within_s: float = Field(10, gt=0, le=600)

    @model_validator(mode="after")
    def _one(self) -> Check:
        if (self.promql is None) == (self.action is None):
            raise ValueError("give exactly one of promql or action")
        return self

    def describe(self) -> str:
        return self.promql or f"{self.action} {self.params or ''}".strip()


class Step(_M):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,60}$")
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = Field(30, gt=0, le=3600)
    retries: int = Field(0, ge=0, le=50)
    retry_delay_s: float = Field(1, ge=0, le=300)
    approval: bool | None = None          # None: as the runbook's mode says
    verify: Check | None = None
    rollback: Call | list[Call] | None = None

    def rollbacks(self) -> list[Call]:
        """The calls that undo this step, in order (one, several or none)."""
        if self.rollback is None:
            return []
        return self.rollback if isinstance(self.rollback, list) else [self.rollback]


class Trigger(_M):
    alert: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    manual: bool = True


class Runbook(_M):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,60}$")
    description: str
    target: str
    expected_rto_s: float = Field(gt=0, le=86400)
    mode: Literal["automatic", "approval"] = "automatic"
    approval_timeout_s: float = Field(300, gt=0, le=86400)
    # the two-person rule: each approval comes from a registered person other than the one
    # who asked, with a fresh TOTP code, and `approvers` distinct people must approve
    sensitive: bool = False
    approvers: int = Field(1, ge=1, le=5)
    trigger: Trigger = Trigger()
    confirm: list[Check] = Field(default_factory=list)     # the alert's condition, checked
    preconditions: list[Call] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    def needs_approval(self, step: Step) -> bool:
        return step.approval if step.approval is not None else self.mode == "approval"

    def matches(self, labels: dict[str, str]) -> bool:
        return (self.trigger.alert == labels.get("alertname")
                and all(labels.get(k) == v for k, v in self.trigger.labels.items()))


def _check_call(src: str, where: str, action: str, params: dict[str, Any], *,
                templated: bool = True) -> None:
    """The action exists and takes these parameters. A parameter that is a template
    (`templated`, at load time) is checked once a run filled it in (`resolve`)."""
    if action not in ACTIONS:
        raise InvalidInput("unknown action", source=src, field=f"{where}.action", value=action,
                           fix=f"Use one of: {', '.join(sorted(ACTIONS))}")
    try:
        ACTIONS[action].params(**params)
    except ValidationError as err:
        errors = [e for e in err.errors() if not (templated and is_templated(e.get("input")))]
        if not errors:
            return
        e = errors[0]
        loc = ".".join(str(p) for p in e["loc"])
        raise InvalidInput(e["msg"], source=src, field=f"{where}.params.{loc}",
                           value=e.get("input") if e["type"] != "missing" else None,
                           fix=f"Parameters of {action}: "
                           f"{', '.join(ACTIONS[action].params.model_fields) or '(none)'}"
                           ) from None


def check_promql(exprs: dict[str, str], src: str) -> None:
    """Prometheus's own parser (promtool) on every expression, without a server."""
    if not exprs:
        return
    rules = {"groups": [{"name": "check", "rules": [
        {"record": f"check:{i}", "expr": e} for i, e in enumerate(exprs.values())]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as fh:
        yaml.safe_dump(rules, fh)
    try:
        result = subprocess.run([require("promtool"), "check", "rules", fh.name],
                                capture_output=True, text=True, timeout=30)
    finally:
        Path(fh.name).unlink()
    if result.returncode == 0:
        return
    for where, expr in exprs.items():          # name the offending one
        one = subprocess.run([require("promtool"), "check", "rules", "/dev/stdin"],
                             input=yaml.safe_dump({"groups": [{"name": "c", "rules": [
                                 {"record": "c:x", "expr": expr}]}]}),
                             capture_output=True, text=True, timeout=30)
        if one.returncode != 0:
            detail = (one.stdout + one.stderr).strip().splitlines()[-1]
            raise InvalidInput(f"Prometheus rejects the expression: {detail}", source=src,
                               field=where, value=expr, fix="Fix the PromQL")


def _calls(rb: Runbook) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, action, params) of every action call: confirmation checks, preconditions,
    steps, their rollbacks and verification actions."""
    for i, check in enumerate(rb.confirm):
        if check.action:
            yield f"confirm[{i}]", check.action, check.params
    for i, call in enumerate(rb.preconditions):
        yield f"preconditions[{i}]", call.action, call.params
    for i, step in enumerate(rb.steps):
        where = f"steps[{i}] ({step.name})"
        yield where, step.action, step.params
        for j, call in enumerate(step.rollbacks()):
            part = f"rollback[{j}]" if isinstance(step.rollback, list) else "rollback"
            yield f"{where}.{part}", call.action, call.params
        if step.verify and step.verify.action:
            yield f"{where}.verify", step.verify.action, step.verify.params


def _promql_params(action: str | None) -> set[str]:
    """The parameters of `action` that are PromQL expressions (marked so in its model)."""
    fields = ACTIONS[action].params.model_fields if action in ACTIONS else {}
    return {n for n, f in fields.items()
            if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("promql")}


def _plain(action: str, params: dict[str, Any]) -> dict[str, Any]:
    promql = _promql_params(action)
    return {k: v for k, v in params.items() if k not in promql}


def _templated_promql(rb: Runbook) -> dict[str, str]:
    """Every PromQL expression that may take label templates, as an = matcher's value: the
    confirmation checks', and actions' PromQL parameters (prometheus.expect's expr)."""
    found = {f"confirm[{i}].promql": c.promql for i, c in enumerate(rb.confirm) if c.promql}
    for where, action, params in _calls(rb):
        found |= {f"{where}.params.{name}": params[name] for name in _promql_params(action)
                  if isinstance(params.get(name), str)}
    return found


def _verify_promql(rb: Runbook) -> dict[str, str]:
    return {f"steps[{i}] ({s.name}).verify.promql": s.verify.promql
            for i, s in enumerate(rb.steps) if s.verify and s.verify.promql}


def _validate(rb: Runbook, src: str) -> None:
    for where, action, params in _calls(rb):
        _check_call(src, where, action, params)
    names = [s.name for s in rb.steps]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InvalidInput("step names must be unique", source=src, field="steps",
                           value=dup)
    _check_confirm(rb, src)
    templated = _templated_promql(rb)
    _check_templates(rb, src, _verify_promql(rb), templated)
    placeholders = {name: "x" for name in template_labels(rb)}
    check_promql({**_verify_promql(rb), **{where: substitute_promql(expr, placeholders)
                                           for where, expr in templated.items()}}, src)


def _check_confirm(rb: Runbook, src: str) -> None:
    """An alert can be forged or stale: a runbook it starts whose steps act must first check
    the alert's condition itself, with checks that act on nothing."""
    for i, check in enumerate(rb.confirm):
        if check.action and ACTIONS[check.action].mutates:
            raise InvalidInput("a confirmation check must act on nothing", source=src,
                               field=f"confirm[{i}].action", value=check.action,
                               fix="Use promql, or an action `controlplane runbook actions` "
                               "lists as checks only")
    acting = [s.action for s in rb.steps if ACTIONS[s.action].mutates]
    if rb.trigger.alert and acting and not rb.confirm:
        raise InvalidInput(f"alert {rb.trigger.alert} starts this runbook and its steps act "
                           f"({acting[0]}), but it confirms nothing before it acts",
                           source=src, field="confirm", value=None,
                           fix="Add confirm: a check (promql or a probe) that holds only when "
                           "the alert's condition does; see runbooks/README.md")


@functools.cache
def _generated_alert_labels() -> dict[str, frozenset[str]]:
    from controlplane.slo import load_slos
    from controlplane.slo.rules import alert_labels

    return alert_labels(load_slos())


def _known_labels(rb: Runbook) -> tuple[frozenset[str], str]:
    """The labels the trigger's alert is known to carry, and where that is known from."""
    alert = rb.trigger.alert
    if alert is None:
        return frozenset(), ("the runbook has no trigger.alert, so no label is known; "
                             "give the alert whose labels the parameters take")
    given = frozenset(rb.trigger.labels)
    carried = _generated_alert_labels().get(alert)
    if carried is None:
        return given | {"alertname"}, (
            f"{alert} is not an alert of the generated rules (controlplane/slo/rules.py), so "
            f"only trigger.labels are known: {', '.join(sorted(given | {'alertname'}))}")
    return carried | given, f"{alert} carries: {', '.join(sorted(carried | given))}"


def _check_templates(rb: Runbook, src: str, verify: dict[str, str],
                     templated: dict[str, str]) -> None:
    for where, expr in verify.items():
        if "{{" in expr:
            raise InvalidInput("templates are not substituted in a verification's PromQL",
                               source=src, field=where, value=expr,
                               fix="Verify with {action: prometheus.expect, params: {expr: "
                               "...}} to use a label in the expression, as an = matcher's "
                               "value")
    known, why = _known_labels(rb)
    uses = [(f"{where}.params.{path}", name, text) for where, action, params in _calls(rb)
            for path, name, text in _uses(_plain(action, params), src, where)]
    uses += [(where, name, expr) for where, expr in templated.items()
             for name in _promql_uses(expr, src, where)]
    for field, name, text in uses:
        if name not in known:
            raise InvalidInput(f"the template names label {name!r}, which the trigger's "
                               "alert is not known to carry", source=src, field=field,
                               value=text, fix=why)


def _promql_uses(expr: str, src: str, where: str) -> list[str]:
    try:
        return promql_label_uses(expr, where)
    except BadTemplate as err:
        raise InvalidInput(str(err), source=src, field=where, value=expr,
                           fix='Write name="{{ labels.NAME }}" inside the selector') from None


def _uses(params: dict[str, Any], src: str, where: str) -> list[tuple[str, str, str]]:
    try:
        return label_uses(params)
    except BadTemplate as err:
        raise InvalidInput(str(err), source=src, field=f"{where}.params.{err.path}",
                           value=err.text,
                           fix="Write {{ labels.NAME }}, NAME a label of the alert") from None


def template_labels(rb: Runbook) -> list[str]:
    """The labels the runbook's templates take, sorted (none: no templates)."""
    src = f"runbook {rb.name}"
    return sorted({name for where, action, params in _calls(rb)
                   for _, name, _ in _uses(_plain(action, params), src, where)}
                  | {name for where, expr in _templated_promql(rb).items()
                     for name in _promql_uses(expr, src, where)})


def resolve(rb: Runbook, labels: Mapping[str, str], source: str = "") -> Runbook:
    """`rb` with its templates filled from `labels`, each call's parameters then checked by
    its action's model. InvalidInput names the step, the field and the value."""
    if not template_labels(rb):
        return rb
    src = source or f"runbook {rb.name}"
    data = rb.model_dump()

    def fill(call: dict[str, Any] | None, where: str) -> None:
        if call is not None:
            call["params"] = _fill_params(call["action"], call["params"], labels, src, where)

    for i, check in enumerate(data["confirm"]):
        fill(check, f"confirm[{i}]")
        if check["promql"] is not None:
            check["promql"] = _filled(check["promql"], labels, src, f"confirm[{i}]",
                                      substitute_promql)
    for i, call in enumerate(data["preconditions"]):
        fill(call, f"preconditions[{i}]")
    for i, step in enumerate(data["steps"]):
        where = f"steps[{i}] ({step['name']})"
        fill(step, where)
        rollback = step["rollback"]
        calls = {f"{where}.rollback[{j}]": c for j, c in enumerate(rollback)} \
            if isinstance(rollback, list) else {f"{where}.rollback": rollback}
        for part, call in {**calls, f"{where}.verify": step["verify"]}.items():
            fill(call, part)
    filled = Runbook.model_validate(data)
    for where, action, params in _calls(filled):
        _check_call(src, where, action, params, templated=False)
    return filled


def _fill_params(action: str | None, params: dict[str, Any], labels: Mapping[str, str],
                 src: str, where: str) -> dict[str, Any]:
    """`params` filled: a PromQL parameter as `substitute_promql` fills it, the rest as text."""
    filled = _filled(_plain(action or "", params), labels, src, f"{where}.params")
    for name in _promql_params(action) & params.keys():
        filled[name] = _filled(params[name], labels, src, f"{where}.params",
                               lambda v, ls, n=name: substitute_promql(v, ls, n))
    return filled


def _filled(value: Any, labels: Mapping[str, str], src: str, where: str,
            fill: Callable[[Any, Mapping[str, str]], Any] = substitute) -> Any:
    """`value` filled by `fill`; InvalidInput naming `where`.PATH (PATH: inside `value`)."""
    try:
        return fill(value, labels)
    except MissingLabel as err:
        raise InvalidInput(f"no label {err.name!r} to fill the template", source=src,
                           field=f"{where}.{err.path}", value=err.text,
                           fix="A run for an alert takes it from the alert's labels; a "
                           f"manual run from --label {err.name}=VALUE") from None
    except BadValue as err:
        raise InvalidInput(str(err), source=src, field=f"{where}.{err.path}",
                           value=err.value, fix="Give a value without template braces") from None


def load_runbook(path: Path) -> Runbook:
    from controlplane.runbooks import library  # noqa: F401 (registers the built-in actions)

    src = str(path)
    data = read_document(path, fix="Pass an existing runbook file")
    try:
        rb = Runbook.model_validate(data)
    except ValidationError as err:
        field, message, value = first_error(err.errors())
        raise InvalidInput(message, source=src, field=field, value=value,
                           fix="See runbooks/README.md for the format") from None
    _validate(rb, src)
    return rb


def load_runbooks(root: Path = RUNBOOKS_DIR) -> dict[str, tuple[Path, Runbook]]:
    found: dict[str, tuple[Path, Runbook]] = {}
    for path in sorted(root.glob("*.yaml")):
        rb = load_runbook(path)
        if rb.name in found:
            raise InvalidInput(f"runbook name also used by {found[rb.name][0]}", source=str(path),
                               field="name", value=rb.name)
        found[rb.name] = (path, rb)
    return found
