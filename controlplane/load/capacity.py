"""Capacity calibration: what one load-generator process carries on this machine.

`calibrate` runs the profile's users in one local engine process (one core, as a worker
would be) at increasing user counts, one short run per step, and measures over each step's
steady part: the process's CPU, its memory, its TCP connections, the request rate and the
target's answers. It stops at the first step at or above the CPU ceiling, or when the target
(not the generator) gives way, since a saturated target makes users wait and so understates
what each user costs. A straight line through the steps gives the users per worker at the
ceiling; beyond the largest step that figure is labelled extrapolated.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from controlplane.load.gates import load_gate_policy
from controlplane.load.plan import Basis
from controlplane.load.profiles import Profile
from controlplane.load.results import RunOutcome
from controlplane.load.run import Listener, LoadRun, RunRequest

__all__ = ["Step", "basis_from_steps", "calibrate", "linear_fit", "measure_step"]

TARGET_GIVES_WAY_ERROR_RATIO = 0.05
TARGET_GIVES_WAY_P99_MS = 1000.0


@dataclass(frozen=True)
class Step:
    users: int
    cpu_pct: float          # mean over the steady part
    rss_bytes: float        # median over the steady part
    connections: float      # median over the steady part
    requests_per_s: float
    error_ratio: float
    p99_ms: float | None    # from the intended start: median of the steady seconds' p99
    verdict: str
    out_dir: str


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line; one point gives a line through 0."""
    if not xs:
        raise ValueError("no points to fit")
    if len(set(xs)) == 1:
        return 0.0, statistics.fmean(ys) / xs[0] if xs[0] else 0.0
    slope, intercept = statistics.linear_regression(xs, ys)
    return intercept, slope


def measure_step(outcome: RunOutcome, users: int, warmup_s: float) -> Step:
    steady = [t for t in outcome.ticks if t["elapsed"] >= warmup_s and t["users"] >= users]
    steady = steady or outcome.ticks[-3:]
    if not steady:
        raise ValueError(f"the step at {users} users produced no progress reports "
                         f"({outcome.verdict}: {outcome.stop_reason or outcome.error})")
    first, last = steady[0]["at"], steady[-1]["at"]
    rows = [r for r in outcome.rows if first <= r["t"] < last] or outcome.rows
    requests = sum(r["requests"] for r in rows)
    failures = sum(r["failures"] for r in rows)
    seconds = max(1, len(rows))
    p99s = [r["latency_ms"]["p99"] for r in rows if r["latency_ms"]]
    return Step(
        users=users, cpu_pct=statistics.fmean(t["engine"]["cpu"] for t in steady),
        rss_bytes=statistics.median(t["engine"]["rss"] for t in steady),
        connections=statistics.median(t["engine"].get("conns", 0) for t in steady),
        requests_per_s=requests / seconds, error_ratio=failures / requests if requests else 0.0,
        p99_ms=statistics.median(p99s) if p99s else None, verdict=outcome.verdict,
        out_dir=outcome.out_dir)


def basis_from_steps(profile: str, steps: list[Step], *, ceiling_pct: float,
                     host_cores: int, measured_at: float) -> Basis:
    users = [float(s.users) for s in steps]
    cpu_a, cpu_b = linear_fit(users, [s.cpu_pct for s in steps])
    at_ceiling = (ceiling_pct - cpu_a) / cpu_b if cpu_b > 0 else float(max(users))
    mem_a, mem_b = linear_fit(users, [s.rss_bytes for s in steps])
    largest = max(steps, key=lambda s: s.users)
    if mem_b <= 0:      # too small to see growth: charge the whole RSS to the users
        mem_a, mem_b = 0.0, largest.rss_bytes / largest.users
    return Basis(
        profile=profile, measured_at=measured_at, host_cores=host_cores,
        cpu_ceiling_pct=ceiling_pct, users_per_worker=max(1.0, at_ceiling),
        users_per_worker_measured=largest.cpu_pct >= ceiling_pct,
        largest_step_users=largest.users, largest_step_cpu_pct=largest.cpu_pct,
        requests_per_user_s=statistics.fmean(s.requests_per_s / s.users for s in steps),
        bytes_per_user=mem_b, worker_base_bytes=max(0.0, mem_a),
        connections_per_user=max(s.connections / s.users for s in steps))


def _gave_way(step: Step) -> str:
    if step.error_ratio > TARGET_GIVES_WAY_ERROR_RATIO:
        return f"the target failed {step.error_ratio:.1%} of requests"
    if step.p99_ms is not None and step.p99_ms > TARGET_GIVES_WAY_P99_MS:
        return f"the target's p99 reached {step.p99_ms:.0f} ms"
    return ""


def calibrate(profile: Profile, host: str, out_dir: Path, steps: list[int], *,
              step_s: float, ceiling_pct: float = 80.0, env: dict[str, str] | None = None,
              listener: Listener | None = None,
              note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    gates = load_gate_policy("calibration")
    measured: list[Step] = []
    stop = f"every step stayed below {ceiling_pct:g}% CPU"
    for users in steps:
        request = RunRequest(profile=profile, host=host, out_dir=out_dir / f"step-{users}",
                             gates=gates, gate_policy="calibration", users=users,
                             spawn_rate=max(1.0, users / 2), duration_s=step_s,
                             mode="local", env=env or {})
        step = measure_step(LoadRun(request, listener).execute(), users,
                            warmup_s=min(5.0, step_s / 3))
        measured.append(step)
        note(f"{users} users: {step.cpu_pct:.0f}% CPU, {step.requests_per_s:.1f} req/s, "
             f"{step.rss_bytes / 2**20:.0f} MiB, {step.connections:.0f} connections, "
             f"errors {step.error_ratio:.1%}")
        if step.cpu_pct >= ceiling_pct:
            stop = f"{users} users reached the {ceiling_pct:g}% CPU ceiling"
            break
        if reason := _gave_way(step):
            stop = f"stopped at {users} users: {reason} (the target, not the generator)"
            break
    healthy = [s for s in measured if not _gave_way(s)] or measured[:1]
    basis = basis_from_steps(profile.name, healthy, ceiling_pct=ceiling_pct,
                             host_cores=_cores(), measured_at=time.time())
    return {"profile": profile.name, "host": host, "step_s": step_s, "stop": stop,
            "steps": [asdict(s) for s in measured], "fitted_on": [s.users for s in healthy],
            "basis": asdict(basis)}


def _cores() -> int:
    import os
    return os.cpu_count() or 1
