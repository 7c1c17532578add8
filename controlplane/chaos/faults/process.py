"""Process faults: kill (a crash), terminate (a graceful shutdown it did not ask for), stop for
a while, pause (a freeze: a hang), and a crash loop. Each asks the platform, and verifies through
it: an instance's old incarnation confirmed dead, its processes reported frozen."""

from __future__ import annotations

import sys
from typing import Any

from pydantic import Field

from controlplane.chaos.faults.base import Evidence, FaultKind, FaultTarget, Params, Timed, register

__all__: list[str] = []   # kinds register themselves in FAULTS


def _incarnations(ctx, target: FaultTarget) -> dict[str, str]:
    info = ctx.platform.info()
    return {i: info.instance(i).incarnation for i in target.instances}


def _kill(graceful: bool):
    def inject(ctx, target: FaultTarget, params: Params, tag: str) -> dict[str, Any]:
        before = _incarnations(ctx, target)
        for inst in target.instances:
            ctx.platform.kill(inst, graceful=graceful)
        return {"incarnations": before}
    return inject


def _dead(ctx, target: FaultTarget, params: Params, tag: str, notes: dict) -> Evidence:
    before = notes.get("incarnations", {})
    gone = sorted(i for i, inc in before.items()
                  if inc and ctx.platform.confirm_dead(i, inc).dead)
    return Evidence(len(gone) == len(before), f"old incarnations gone: {gone}",
                    {"incarnations": before})


def _bring_back(ctx, target: FaultTarget, params: Params, tag: str) -> None:
    info = ctx.platform.info()
    for inst in target.instances:
        state = info.instance(inst)
        if state.state == "paused":
            ctx.platform.thaw(inst)
        elif not state.running and state.state in ("crashed", "exited", "stopped", "failed"):
            ctx.platform.start(inst)


def _ready(ctx, target: FaultTarget, params: Params, tag: str) -> Evidence:
    info = ctx.platform.info()
    states = {i: (info.instance(i).state, info.instance(i).health.ready)
              for i in target.instances}
    ok = all(ready and state in ("running", "starting") for state, ready in states.values())
    return Evidence(ok, "all ready again" if ok else f"not yet: {states}",
                    {"instances": {i: s for i, (s, _) in states.items()}})


register(FaultKind(
    "process-kill", "SIGKILL every process of the instance (a crash); its restart policy applies",
    Params, (), _kill(False), _dead, _bring_back, _ready))
register(FaultKind(
    "process-terminate", "SIGTERM the instance (a graceful shutdown it did not ask for)",
    Params, (), _kill(True), _dead, _bring_back, _ready))


def _stop(ctx, target: FaultTarget, params: Params, tag: str) -> dict[str, Any]:
    for inst in target.instances:
        ctx.platform.stop(inst)
    return {}


def _stopped(ctx, target: FaultTarget, params: Params, tag: str, notes: dict) -> Evidence:
    info = ctx.platform.info()
    down = {i: not info.instance(i).running for i in target.instances}
    return Evidence(all(down.values()), f"stopped: {down}")


register(FaultKind(
    "process-stop", "stop the instance for duration_s, then start it (etcd, HAProxy or "
    "Prometheus loss; a node taken away)", Timed, (), _stop, _stopped, _bring_back, _ready))


def _pause(ctx, target: FaultTarget, params: Params, tag: str) -> dict[str, Any]:
    for inst in target.instances:
        ctx.platform.freeze(inst)
    return {}


def _frozen(ctx, target: FaultTarget, params: Params, tag: str, notes: dict) -> Evidence:
    states = {i: ctx.platform.resources().process_states(i, "") for i in target.instances}
    ok = all(s and all(x == "frozen" for x in s) for s in states.values())
    return Evidence(ok, f"process states: {states}", {"states": states})


def _resume(ctx, target: FaultTarget, params: Params, tag: str) -> None:
    for inst in target.instances:
        ctx.platform.thaw(inst)


register(FaultKind(
    "process-pause", "SIGSTOP the instance for duration_s (a hang: no crash, no answer)",
    Timed, (), _pause, _frozen, _resume, _ready))


class CrashLoop(Timed):
    interval_s: float = Field(3.0, ge=0.5, le=60)


def _crash_loop(ctx, target: FaultTarget, params: CrashLoop, tag: str) -> dict[str, Any]:
    info = ctx.platform.info()
    restarts = {i: info.instance(i).restarts for i in target.instances}
    for inst in target.instances:
        ctx.platform.resources().spawn_helper(tag, None, [
            sys.executable, "-m", "controlplane.chaos.helpers.crashloop",
            "--state", str(ctx.platform.workspace.root), "--instance", inst,
            "--interval", str(params.interval_s), "--duration", str(params.duration_s)])
    return {"restarts": restarts}


def _looping(ctx, target: FaultTarget, params: Params, tag: str, notes: dict) -> Evidence:
    info = ctx.platform.info()
    now = {i: info.instance(i).restarts for i in target.instances}
    before = notes.get("restarts", {})
    ok = all(now[i] > before.get(i, 0) for i in now)
    return Evidence(ok, f"restarts before {before}, now {now}", {"restarts": now})


def _stop_loop(ctx, target: FaultTarget, params: Params, tag: str) -> None:
    ctx.platform.resources().stop_helpers(tag)
    _bring_back(ctx, target, params, tag)


register(FaultKind(
    "process-crash-loop", "kill the instance every interval_s for duration_s; its restart "
    "policy brings it back each time", CrashLoop, ("gateway", "matcher", "marketdata",
                                                   "controlplane", "haproxy", "etcd",
                                                   "prometheus"),
    _crash_loop, _looping, _stop_loop, _ready))
