"""Platform actions: start, stop, restart, kill, scale, and waiting for readiness."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from controlplane.runbooks.actions import ActionContext, ActionFailed, action


class Instance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    instance: str


class Component(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    component: str


class Wait(Instance):
    timeout_s: float = Field(30, gt=0, le=600)


def _summary(info) -> dict[str, Any]:
    return {"instance": info.id, "state": info.state, "pid": info.pid}


@action("platform.start", Instance, "start a stopped or crashed instance")
def start(ctx: ActionContext, params: Instance) -> dict[str, Any]:
    current = ctx.platform.info().instance(params.instance)
    if current.pid:
        return {**_summary(current), "note": "already running"}
    return _summary(ctx.platform.start(params.instance))


@action("platform.stop", Instance, "stop an instance gracefully")
def stop(ctx: ActionContext, params: Instance) -> dict[str, Any]:
    return _summary(ctx.platform.stop(params.instance))


@action("platform.restart", Instance, "stop then start an instance")
def restart(ctx: ActionContext, params: Instance) -> dict[str, Any]:
    if ctx.platform.info().instance(params.instance).pid:
        ctx.platform.stop(params.instance)
    return _summary(ctx.platform.start(params.instance))


@action("platform.scale", Component, "start one more instance of a component")
def scale(ctx: ActionContext, params: Component) -> dict[str, Any]:
    return _summary(ctx.platform.scale(params.component))


@action("platform.wait_ready", Wait, "wait until an instance is ready", mutates=False)
def wait_ready(ctx: ActionContext, params: Wait) -> dict[str, Any]:
    deadline = time.monotonic() + params.timeout_s
    while time.monotonic() < deadline:
        if ctx.platform.health(params.instance).ready:
            return {"ready": params.instance}
        time.sleep(0.2)
    raise ActionFailed(f"{params.instance} not ready within {params.timeout_s:g} s")
