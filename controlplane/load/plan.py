"""The capacity plan for a large run, from a calibration measured on this machine.

Pure arithmetic, so that it can be checked by hand and tested. Every figure says whether it
rests on a measurement or on a linear extrapolation beyond what was measured.

- workers: one Locust worker process per core, each loaded to `users_per_worker` (the users
  one worker carries below the CPU ceiling, 80% by default);
- masters: Locust masters struggle beyond about 1,000 workers, so a larger run is split into
  independent master groups of at most `workers_per_master` workers;
- memory: the users' share (measured bytes per user) plus each worker's base size;
- sockets: the users' TCP connections to the target. One source address can hold as many
  connections to one target address and port as there are ephemeral ports; more connections
  need more source addresses (or more target endpoints), and every worker needs a file
  descriptor limit above its share.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["MASTER_WORKER_LIMIT", "Basis", "Plan", "make_plan"]

MASTER_WORKER_LIMIT = 1000


@dataclass(frozen=True)
class Basis:
    """What a calibration measured for one worker process (one core)."""

    profile: str
    measured_at: float
    host_cores: int
    cpu_ceiling_pct: float          # the ceiling users_per_worker was computed for
    users_per_worker: float         # users one worker carries at the ceiling
    users_per_worker_measured: bool  # False: extrapolated beyond the largest measured step
    largest_step_users: int
    largest_step_cpu_pct: float
    requests_per_user_s: float      # requests/s one user offers
    bytes_per_user: float           # worker RSS growth per user
    worker_base_bytes: float        # worker RSS with no users
    connections_per_user: float     # TCP connections one user holds

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Basis:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Plan:
    users: int
    basis: Basis
    workers: int
    masters: int
    cores: int
    memory_bytes: float
    requests_per_s: float
    connections: int
    source_addresses: int
    fds_per_worker: int
    ephemeral_ports: int
    fd_limit_here: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_plan(users: int, basis: Basis, *, ephemeral_ports: int = 28232,
              fd_limit_here: int = 1024, workers_per_master: int = MASTER_WORKER_LIMIT,
              fd_headroom: int = 256) -> Plan:
    if users <= 0:
        raise ValueError(f"users must be positive, got {users}")
    if basis.users_per_worker <= 0:
        raise ValueError("the calibration found no users per worker")
    workers = math.ceil(users / basis.users_per_worker)
    masters = math.ceil(workers / workers_per_master)
    connections = math.ceil(users * basis.connections_per_user)
    fds = math.ceil(basis.users_per_worker * basis.connections_per_user) + fd_headroom
    plan = Plan(
        users=users, basis=basis, workers=workers, masters=masters, cores=workers + masters,
        memory_bytes=users * basis.bytes_per_user + workers * basis.worker_base_bytes,
        requests_per_s=users * basis.requests_per_user_s, connections=connections,
        source_addresses=max(1, math.ceil(connections / ephemeral_ports)),
        fds_per_worker=fds, ephemeral_ports=ephemeral_ports, fd_limit_here=fd_limit_here)
    return Plan(**{**asdict(plan), "basis": basis, "notes": _notes(plan, workers_per_master)})


def _notes(plan: Plan, per_master: int) -> list[str]:
    b = plan.basis
    notes = [
        f"measured basis: on {time.strftime('%Y-%m-%d', time.gmtime(b.measured_at))}, one "
        f"worker process ran the '{b.profile}' profile at up to {b.largest_step_users:,} "
        f"users ({b.largest_step_cpu_pct:.0f}% CPU) on a {b.host_cores}-core machine",
        ("users per worker at {:.0f}% CPU: {:,.0f}, {}".format(
            b.cpu_ceiling_pct, b.users_per_worker,
            "measured (interpolated between measured steps)" if b.users_per_worker_measured
            else "EXTRAPOLATED linearly beyond the largest measured step")),
        f"EXTRAPOLATED: {plan.users:,} users is {plan.users / max(b.largest_step_users, 1):,.0f}x "
        "the largest measured step; per-user CPU, memory and request rate are assumed to "
        "stay linear and the target to keep up",
    ]
    if plan.workers > per_master:
        notes.append(f"{plan.workers:,} workers exceed what one Locust master handles well "
                     f"(about {per_master:,}): run {plan.masters} independent master groups "
                     "and merge their HdrHistograms (hdr.json) afterwards")
    if plan.source_addresses > 1:
        notes.append(f"{plan.connections:,} connections need {plan.source_addresses} source "
                     f"addresses per target address:port ({plan.ephemeral_ports:,} ephemeral "
                     "ports each), or as many target endpoints behind the load balancer")
    if plan.fds_per_worker > plan.fd_limit_here:
        notes.append(f"each worker needs about {plan.fds_per_worker:,} file descriptors; "
                     f"the limit here is {plan.fd_limit_here:,} (raise `ulimit -n`)")
    return notes
