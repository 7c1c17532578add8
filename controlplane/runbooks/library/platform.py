"""Platform actions: start, stop, restart, kill, scale (out and in) and undo a scaling, and
waiting for readiness."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from controlplane.runbooks.actions import ActionContext, ActionFailed, NoParams, action


class Instance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    instance: str


class Component(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    component: str


class Wait(Instance):
    timeout_s: float = Field(30, gt=0, le=600)


def _summary(info) -> dict[str, Any]:
    return {"instance": info.id, "state": info.state, "running": info.running,
            "handle": info.handle}


@action("platform.start", Instance, "start a stopped or crashed instance")
def start(ctx: ActionContext, params: Instance) -> dict[str, Any]:
    current = ctx.platform.info().known(params.instance)
    if current.running:
        return {**_summary(current), "note": "already running"}
    return _summary(ctx.platform.start(params.instance))


@action("platform.stop", Instance, "stop an instance gracefully")
def stop(ctx: ActionContext, params: Instance) -> dict[str, Any]:
    return _summary(ctx.platform.stop(params.instance))


@action("platform.restart", Instance, "stop then start an instance")
def restart(ctx: ActionContext, params: Instance) -> dict[str, Any]:
    if ctx.platform.info().known(params.instance).running:
        ctx.platform.stop(params.instance)
    return _summary(ctx.platform.start(params.instance))


@action("platform.scale", Component, "start one more instance of a component")
def scale(ctx: ActionContext, params: Component) -> dict[str, Any]:
    return _summary(ctx.platform.scale(params.component))


class ScaleOut(Component):
    max_instances: int = Field(8, ge=1, le=64)


class ScaleIn(Component):
    min_instances: int = Field(1, ge=1, le=64)
    below_topology: bool = False    # the topology's instance count is a floor unless True


def _running(ctx: ActionContext, component: str) -> list[str]:
    instances = ctx.platform.instances(component)
    if not instances:
        known = sorted(c.name for c in ctx.platform.components())
        raise ActionFailed(f"no component {component!r}; the cluster has: {', '.join(known)}")
    return [i.id for i in instances]


def _scale_report(ctx: ActionContext, instance: str) -> dict[str, Any]:
    """The platform's account of the operation (the local supervisor keeps one), if any."""
    reports = getattr(ctx.platform, "scale_reports", None)
    if reports is None:
        return {}
    for report in reversed(reports()):
        if report["instance"] == instance:
            return {"report": report}
    return {}


@action("platform.scale_out", ScaleOut,
        "one more instance of a component (the matcher's symbols are rebalanced to it)")
def scale_out(ctx: ActionContext, params: ScaleOut) -> dict[str, Any]:
    before = _running(ctx, params.component)
    if len(before) >= params.max_instances:
        raise ActionFailed(f"{params.component} already runs {len(before)} instances "
                           f"(max_instances {params.max_instances}); not scaling out")
    info = ctx.platform.scale(params.component)
    return {**_summary(info), "component": params.component, "direction": "out",
            "instances_before": len(before), "instances_after": len(before) + 1,
            **_scale_report(ctx, info.id)}


def _floor(ctx: ActionContext, params: ScaleIn) -> tuple[int, str]:
    """The fewest instances a scale-in may leave, and where that number comes from: the
    topology's own count, unless the runbook says `below_topology`; never under min_instances."""
    service = ctx.platform.topology().services.get(params.component)
    ours = service.instances if service is not None else 1
    if params.below_topology or ours <= params.min_instances:
        return params.min_instances, f"min_instances {params.min_instances}"
    return ours, (f"the topology's {ours} (a runbook goes under it with below_topology: true "
                  "and min_instances)")


@action("platform.scale_in", ScaleIn,
        "stop and forget the highest-numbered instance (never below the topology's count, "
        "unless below_topology, nor min_instances)")
def scale_in(ctx: ActionContext, params: ScaleIn) -> dict[str, Any]:
    before = _running(ctx, params.component)
    floor, why = _floor(ctx, params)
    if len(before) <= floor:
        raise ActionFailed(f"{params.component} runs {len(before)} instances, not above "
                           f"{why}; not scaling in")
    info = ctx.platform.scale_in(params.component)
    return {**_summary(info), "component": params.component, "direction": "in",
            "instances_before": len(before), "instances_after": len(before) - 1,
            "floor": floor, **_scale_report(ctx, info.id)}


@action("platform.undo_scale", NoParams,
        "undo what the step's scaling did (a rollback): remove each instance its scale-out "
        "added, start one for each instance its scale-in removed")
def undo_scale(ctx: ActionContext, params: NoParams) -> dict[str, Any]:
    done = [out for out in ctx.undo if out.get("direction") in ("out", "in")]
    return {"undone": [_undo(ctx, out) for out in reversed(done)]}


def _number(instance_id: str) -> int:
    return int(instance_id.rsplit("-", 1)[1])


def _undo(ctx: ActionContext, out: dict[str, Any]) -> dict[str, Any]:
    component, instance = out["component"], out["instance"]
    if out["direction"] == "in":
        return {"started": ctx.platform.scale(component).id, "instead_of": instance}
    ids = [i.id for i in ctx.platform.instances(component)]
    if instance not in ids:
        return {"already_gone": instance}
    last = max(ids, key=_number)
    if last != instance:           # the platform removes the highest-numbered one only
        raise ActionFailed(f"{instance}, which this step added, is no longer the highest-"
                           f"numbered {component} ({last} is): scaling in would remove "
                           f"{last}; remove {instance} by hand")
    return {"removed": ctx.platform.scale_in(component).id}


@action("platform.wait_ready", Wait, "wait until an instance is ready", mutates=False)
def wait_ready(ctx: ActionContext, params: Wait) -> dict[str, Any]:
    deadline = time.monotonic() + params.timeout_s
    while time.monotonic() < deadline:
        if ctx.platform.health(params.instance).ready:
            return {"ready": params.instance}
        time.sleep(0.2)
    raise ActionFailed(f"{params.instance} not ready within {params.timeout_s:g} s")
