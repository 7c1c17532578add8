"""When a load run cannot be trusted: it is then *invalid*, neither passed nor failed.

- a load generator (a worker, or the local engine) ran above the CPU threshold, averaged over
  a whole window of `cpu_window_s` after its users were spawned: its own queueing then
  inflates every latency it reports. Its start-up (imports, connecting to the master,
  spawning users) is not load and is not judged: the window opens at the first reading taken
  wholly after the generator reported its users spawned (Locust's `running` state);
- a worker went missing (Locust's heartbeat) or its process exited during the run;
- the target user count was never reached.

Locust's own exit code ignores all three.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from controlplane.load.gates import Validity
from controlplane.load.placement import WorkerStatus

__all__ = ["ValidityWatch"]


class ValidityWatch:
    def __init__(self, policy: Validity, *, expected_workers: int) -> None:
        self.policy = policy
        self.expected_workers = expected_workers
        self.reasons: list[str] = []
        self.peak_cpu: dict[str, float] = {}
        self._cpu: dict[str, deque[tuple[float, float]]] = defaultdict(deque)
        self._spawned_at: dict[str, float] = {}    # when each generator first said `running`
        self._flagged: set[str] = set()

    def _flag(self, key: str, reason: str) -> None:
        if key not in self._flagged:
            self._flagged.add(key)
            self.reasons.append(reason)

    def observe_tick(self, tick: dict[str, Any]) -> None:
        elapsed = float(tick.get("elapsed", 0.0))
        generators = tick.get("workers") or []
        if not self.expected_workers:
            generators = [{"id": "engine", "state": tick.get("state"),
                           "cpu": (tick.get("engine") or {}).get("cpu", 0.0)}]
        for gen in generators:
            self._observe_cpu(str(gen["id"]), elapsed, float(gen.get("cpu") or 0.0),
                              spawned=gen.get("state") == "running")
            if gen.get("state") == "missing" and self.policy.workers_must_stay:
                self._flag(f"missing:{gen['id']}", f"worker {gen['id']} went missing "
                           f"(no heartbeat) at {elapsed:.0f} s")
        if self.expected_workers and self.policy.workers_must_stay \
                and tick.get("state") in ("spawning", "running") \
                and len(generators) < self.expected_workers:
            self._flag("fewer", f"only {len(generators)} of {self.expected_workers} workers "
                       f"were connected at {elapsed:.0f} s")

    def _observe_cpu(self, worker: str, elapsed: float, cpu: float, *, spawned: bool) -> None:
        if worker not in self._spawned_at:
            if spawned:     # this reading (CPU since the last one) still covers the spawning
                self._spawned_at[worker] = elapsed
            return
        samples = self._cpu[worker]
        samples.append((elapsed, cpu))
        while samples and samples[0][0] < elapsed - self.policy.cpu_window_s:
            samples.popleft()
        mean = sum(c for _, c in samples) / len(samples)
        self.peak_cpu[worker] = max(self.peak_cpu.get(worker, 0.0), mean)
        whole_window = elapsed - self._spawned_at[worker] >= self.policy.cpu_window_s
        if whole_window and len(samples) >= 2 and mean > self.policy.max_worker_cpu_pct:
            self._flag(f"cpu:{worker}", f"load generator {worker} averaged {mean:.0f}% CPU over "
                       f"{self.policy.cpu_window_s:g} s at {elapsed:.0f} s, above "
                       f"{self.policy.max_worker_cpu_pct:g}%: the generator, not the cluster, "
                       "may have set the pace")

    def observe_pool(self, statuses: list[WorkerStatus], *, stopping: bool) -> None:
        if stopping or not self.policy.workers_must_stay:
            return
        for status in statuses:
            if not status.alive:
                self._flag(f"exit:{status.name}", f"worker {status.name} ({status.where}) "
                           f"exited during the run with code {status.exit_code}")

    def observe_end(self, *, max_users: int, target_users: int, allow_short: bool) -> None:
        needed = self.policy.min_target_fraction * target_users
        if max_users < needed and not allow_short:
            self._flag("target", f"the target of {target_users} users was never reached "
                       f"(at most {max_users})")
