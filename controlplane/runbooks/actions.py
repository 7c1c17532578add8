"""The registry of runbook actions: each a typed parameters model and a function, registered by
decorator and checked at registration (as Robusta's @action is).

    @action("platform.restart", Instance, "restart an instance")
    def restart(ctx: ActionContext, params: Instance) -> dict: ...

An action returns a JSON-able dict (its output, kept in the run record). It must bound its own
waits: the engine stops waiting at the step's timeout, but cannot stop a thread. A rollback
finds what its step did in `ctx.undo`: the outputs of the step's attempts that succeeded.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from controlplane.platform.base import Platform

__all__ = ["ACTIONS", "ActionContext", "ActionFailed", "NoParams", "RegisteredAction", "action",
           "all_actions"]


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionFailed(Exception):
    """The action ran and did not achieve what it should; the message says what it saw."""


@dataclass
class ActionContext:
    platform: Platform
    dry_run: bool = False
    run_id: int | None = None
    alert: dict[str, Any] = field(default_factory=dict)    # the triggering alert, if any
    prometheus_url: str | None = None
    undo: list[dict[str, Any]] = field(default_factory=list)   # a rollback: what its step did
    runbook: str = ""                     # the running runbook's name
    alertmanager_url: str | None = None   # else the cluster's own Alertmanager, if it has one


@dataclass(frozen=True)
class RegisteredAction:
    name: str
    params: type[BaseModel]
    run: Callable[[ActionContext, Any], dict[str, Any]]
    summary: str
    mutates: bool           # False for checks: they also run in a dry run


ACTIONS: dict[str, RegisteredAction] = {}


def action(name: str, params: type[BaseModel] = NoParams, summary: str = "",
           mutates: bool = True) -> Callable:
    def register(fn: Callable[[ActionContext, Any], dict[str, Any]]) -> Callable:
        if name in ACTIONS:
            raise ValueError(f"runbook action {name!r} registered twice")
        if not issubclass(params, BaseModel):
            raise TypeError(f"{name}: params must be a pydantic model")
        if list(inspect.signature(fn).parameters) != ["ctx", "params"]:
            raise TypeError(f"{name}: an action takes (ctx, params)")
        ACTIONS[name] = RegisteredAction(name, params, fn, summary or (fn.__doc__ or "")
                                         .strip().split("\n")[0], mutates)
        return fn
    return register


def all_actions() -> dict[str, RegisteredAction]:
    """Every registered action, the built-in library's included (it registers on import, and
    nothing else may have imported it yet)."""
    from controlplane.runbooks import library  # noqa: F401

    return ACTIONS
