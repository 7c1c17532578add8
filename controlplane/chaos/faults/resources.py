"""Resource faults on one instance: burn CPU beside it, cap its CPU, press its memory, fill its
disk (inside its own data directory, with a safety cap)."""

from __future__ import annotations

import sys
import time
from typing import Any

from pydantic import Field

from controlplane.chaos.faults.base import Evidence, FaultKind, FaultTarget, Timed, register
from controlplane.errors import InvalidInput

__all__ = ["DISK_FILL_MAX_MB"]

DISK_FILL_MAX_MB = 2048
DISK_FILL_MAX_SHARE = 0.2        # never take more than 20% of the free space


def _helper(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"controlplane.chaos.helpers.{module}", *args]


def _stop_helpers(ctx, target: FaultTarget, params: Timed, tag: str) -> None:
    ctx.platform.resources().stop_helpers(tag)


def _no_helpers(ctx, target: FaultTarget, params: Timed, tag: str) -> Evidence:
    left = ctx.platform.resources().helpers(tag)
    return Evidence(not left, "helpers stopped" if not left else f"still running: {left}")


class CpuBurn(Timed):
    cores: float = Field(1.0, ge=0.1, le=16)


def _burn(ctx, target: FaultTarget, params: CpuBurn, tag: str) -> dict[str, Any]:
    for inst in target.instances:
        ctx.platform.resources().spawn_helper(tag, inst, _helper(
            "burn", "--cores", str(params.cores), "--duration", str(params.duration_s)))
    return {"started": time.monotonic()}


def _burning(ctx, target: FaultTarget, params: CpuBurn, tag: str, notes: dict) -> Evidence:
    usage = ctx.platform.resources().helper_usage(tag)
    count, used = int(usage["count"]), usage["cpu_seconds"]
    elapsed = time.monotonic() - notes.get("started", time.monotonic())
    ok = count > 0 and elapsed > 0.5 and used >= 0.3 * min(params.cores, 1) * elapsed
    return Evidence(ok, f"{count} burners used {used:.2f} CPU-s in {elapsed:.1f} s",
                    {"cpu_seconds": used})


register(FaultKind("cpu-burn", "burn `cores` CPUs next to the instance (a noisy neighbour), "
                   "accounted to its cgroup", CpuBurn, (), _burn, _burning, _stop_helpers,
                   _no_helpers, category="resources"))


class CpuThrottle(Timed):
    cores: float = Field(0.1, ge=0.01, le=16)


def _throttle(ctx, target: FaultTarget, params: CpuThrottle, tag: str) -> dict[str, Any]:
    for inst in target.instances:
        ctx.platform.resources().set_cpu_limit(inst, params.cores)
    return {}


def _throttled(ctx, target, params: CpuThrottle, tag: str, notes: dict) -> Evidence:
    limits = {i: ctx.platform.resources().cpu_limit(i) for i in target.instances}
    ok = all(v is not None and abs(v - params.cores) < 0.011 for v in limits.values())
    return Evidence(ok, f"CPU caps: {limits}", {"limits": limits})


def _unthrottle(ctx, target: FaultTarget, params: CpuThrottle, tag: str) -> None:
    for inst in target.instances:
        ctx.platform.resources().set_cpu_limit(inst, None)


def _unthrottled(ctx, target, params: CpuThrottle, tag: str) -> Evidence:
    limits = {i: ctx.platform.resources().cpu_limit(i) for i in target.instances}
    return Evidence(all(v is None for v in limits.values()), f"CPU caps: {limits}")


register(FaultKind("cpu-throttle", "cap the instance at `cores` CPUs through its cgroup "
                   "(starved hardware)", CpuThrottle, (), _throttle, _throttled, _unthrottle,
                   _unthrottled, category="resources"))


class Memory(Timed):
    megabytes: int = Field(256, ge=16, le=8192)


def _hog(ctx, target: FaultTarget, params: Memory, tag: str) -> dict[str, Any]:
    for inst in target.instances:
        ctx.platform.resources().spawn_helper(tag, inst, _helper(
            "memhog", "--megabytes", str(params.megabytes), "--duration",
            str(params.duration_s)))
    return {}


def _hogging(ctx, target: FaultTarget, params: Memory, tag: str, notes: dict) -> Evidence:
    rss = ctx.platform.resources().helper_usage(tag)["resident_mb"]
    want = 0.9 * params.megabytes * len(target.instances)
    return Evidence(rss >= want, f"helpers hold {rss:.0f} MB resident (want {want:.0f})",
                    {"rss_mb": round(rss)})


register(FaultKind("memory-pressure", "allocate and touch `megabytes` beside the instance, "
                   "in its memory cgroup", Memory, (), _hog, _hogging, _stop_helpers,
                   _no_helpers, category="resources"))


class DiskFill(Timed):
    megabytes: int = Field(256, ge=1, le=DISK_FILL_MAX_MB)


def _fill(ctx, target: FaultTarget, params: DiskFill, tag: str) -> dict[str, Any]:
    resources = ctx.platform.resources()
    for inst in target.instances:
        free_mb = resources.disk_free_mb(inst)
        if params.megabytes > DISK_FILL_MAX_SHARE * free_mb:
            raise InvalidInput(f"would take more than {DISK_FILL_MAX_SHARE:.0%} of the "
                               f"{free_mb:.0f} MB free on {inst}'s data volume",
                               field="parameters.megabytes", value=params.megabytes,
                               fix="Ask for less")
        resources.fill_disk(tag, inst, params.megabytes)
    return {}


def _sizes(ctx, target: FaultTarget, tag: str) -> dict[str, float]:
    return {i: ctx.platform.resources().disk_fill_mb(tag, i) for i in target.instances}


def _filled(ctx, target: FaultTarget, params: DiskFill, tag: str, notes: dict) -> Evidence:
    sizes = _sizes(ctx, target, tag)
    return Evidence(all(s >= params.megabytes for s in sizes.values()),
                    f"fill files (MB): {sizes}", {"megabytes": sizes})


def _unfill(ctx, target: FaultTarget, params: DiskFill, tag: str) -> None:
    for inst in target.instances:
        ctx.platform.resources().clear_disk_fill(tag, inst)


def _unfilled(ctx, target: FaultTarget, params: DiskFill, tag: str) -> Evidence:
    left = [i for i, mb in _sizes(ctx, target, tag).items() if mb > 0]
    return Evidence(not left, "fill files removed" if not left else f"still there: {left}")


register(FaultKind("disk-fill", "write `megabytes` into the instance's own data directory "
                   f"(capped at {DISK_FILL_MAX_MB} MB and {DISK_FILL_MAX_SHARE:.0%} of free "
                   "space)", DiskFill, (), _fill, _filled, _unfill, _unfilled,
                   category="resources"))
