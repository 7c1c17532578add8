"""Runbooks as YAML in runbooks/: a trigger, preconditions, and steps from the action registry,
each with a timeout, retries, a verification and a rollback. Refused at load time, naming the
file and the step: an unknown action, a missing or wrong parameter, a PromQL expression that
Prometheus's own parser rejects."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from controlplane.errors import InvalidInput
from controlplane.host.tools import require
from controlplane.runbooks.actions import ACTIONS
from controlplane.userfiles import first_error, read_document

__all__ = ["RUNBOOKS_DIR", "Call", "Runbook", "Step", "Trigger", "Verify", "load_runbook",
           "load_runbooks"]

RUNBOOKS_DIR = Path(__file__).resolve().parents[2] / "runbooks"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Call(_M):
    action: str
    params: dict[str, Any] = Field(default_factory=dict)


class Verify(_M):
    """After a step: a PromQL expression that must return a non-empty result, or an action
    (a probe) that must succeed; polled until `within_s`."""

    promql: str | None = None
    action: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    within_s: float = Field(10, gt=0, le=600)

    @model_validator(mode="after")
    def _one(self) -> Verify:
        if (self.promql is None) == (self.action is None):
            raise ValueError("give exactly one of promql or action")
        return self


class Step(_M):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,60}$")
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = Field(30, gt=0, le=3600)
    retries: int = Field(0, ge=0, le=50)
    retry_delay_s: float = Field(1, ge=0, le=300)
    approval: bool | None = None          # None: as the runbook's mode says
    verify: Verify | None = None
    rollback: Call | None = None


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
    trigger: Trigger = Trigger()
    preconditions: list[Call] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    def needs_approval(self, step: Step) -> bool:
        return step.approval if step.approval is not None else self.mode == "approval"

    def matches(self, labels: dict[str, str]) -> bool:
        return (self.trigger.alert == labels.get("alertname")
                and all(labels.get(k) == v for k, v in self.trigger.labels.items()))


def _check_call(src: str, where: str, action: str, params: dict[str, Any]) -> None:
    if action not in ACTIONS:
        raise InvalidInput("unknown action", source=src, field=f"{where}.action", value=action,
                           fix=f"Use one of: {', '.join(sorted(ACTIONS))}")
    try:
        ACTIONS[action].params(**params)
    except ValidationError as err:
        e = err.errors()[0]
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


def _validate(rb: Runbook, src: str) -> None:
    promql: dict[str, str] = {}
    for i, call in enumerate(rb.preconditions):
        _check_call(src, f"preconditions[{i}]", call.action, call.params)
    for i, step in enumerate(rb.steps):
        where = f"steps[{i}] ({step.name})"
        _check_call(src, where, step.action, step.params)
        if step.rollback:
            _check_call(src, f"{where}.rollback", step.rollback.action, step.rollback.params)
        if step.verify and step.verify.action:
            _check_call(src, f"{where}.verify", step.verify.action, step.verify.params)
        if step.verify and step.verify.promql:
            promql[f"{where}.verify.promql"] = step.verify.promql
    names = [s.name for s in rb.steps]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InvalidInput("step names must be unique", source=src, field="steps",
                           value=dup)
    check_promql(promql, src)


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
