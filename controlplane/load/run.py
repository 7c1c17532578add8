"""One load run, driven from the control plane: engine, workers, gates, chaos, verdict.

The engine (Locust) runs in its own process; this side reads its events, shows progress,
watches the gates and the validity conditions, hosts the chaos experiment in the main thread,
and decides the verdict. Every run ends by itself: the engine stops after its duration, and
a hard deadline here (duration plus a stop allowance) kills whatever is still running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from controlplane.load.chaos import ChaosHost, sigusr1_ignored
from controlplane.load.gates import GatePolicy, GateWatch, final_failures
from controlplane.load.judge import judge
from controlplane.load.placement import EngineProcess, WorkerPool, worker_pool
from controlplane.load.profiles import Profile
from controlplane.load.results import RunOutcome
from controlplane.load.spec import EngineSpec
from controlplane.load.validity import ValidityWatch

__all__ = ["ChaosPlan", "LoadRun", "RunRequest"]

STOP_ALLOWANCE_S = 60.0        # beyond the duration, for stopping and writing results


@dataclass(frozen=True)
class ChaosPlan:
    path: Path
    at_s: float                       # seconds after the load started
    config_vars: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRequest:
    profile: Profile
    host: str
    out_dir: Path
    gates: GatePolicy
    gate_policy: str
    users: int
    spawn_rate: float
    duration_s: float
    mode: Literal["local", "distributed"]
    workers: int = 0
    pool: str = "local"
    chaos: ChaosPlan | None = None
    env: dict[str, str] = field(default_factory=dict)

    def spec(self) -> EngineSpec:
        return EngineSpec(
            locustfiles=[str(p) for p in self.profile.paths()], host=self.host,
            out_dir=str(self.out_dir), mode="master" if self.mode == "distributed" else "local",
            user_classes=list(self.profile.classes), users=self.users,
            spawn_rate=self.spawn_rate, duration_s=self.duration_s,
            shape=self.profile.shape_class(),
            workers=self.workers if self.mode == "distributed" else 0,
            window_s=self.gates.window_s, percentiles=self.gates.percentiles())


Listener = Callable[[str, dict[str, Any]], None]   # ("tick" | "note", data)


class LoadRun:
    def __init__(self, request: RunRequest, listener: Listener | None = None) -> None:
        self.req = request
        self.listen = listener or (lambda kind, data: None)
        self.out = RunOutcome(profile=request.profile.name, mode=request.mode,
                              host=request.host, out_dir=str(request.out_dir),
                              gates={"policy": request.gate_policy,
                                     **request.gates.model_dump()})
        self.chaos = (ChaosHost(request.chaos.path, request.chaos.config_vars,
                                request.out_dir) if request.chaos else None)
        self.gates = GateWatch(request.gates)
        self.validity = ValidityWatch(request.gates.validity,
                                      expected_workers=request.workers
                                      if request.mode == "distributed" else 0)
        self.pool: WorkerPool | None = (worker_pool(request.pool)
                                        if request.mode == "distributed" else None)
        self.abort_reason = ""
        self.interrupted = ""
        self.stopping = False
        self.ended = threading.Event()
        self.running_at: float | None = None
        self.max_users = 0

    # the whole run ----------------------------------------------------------------------
    def execute(self) -> RunOutcome:
        self.req.out_dir.mkdir(parents=True, exist_ok=True)
        spec_path = self.req.spec().write(self.req.out_dir / "engine-spec.json")
        with sigusr1_ignored():
            engine = EngineProcess(spec_path, self.req.out_dir,
                                   {**self.req.profile.env, **self.req.env})
            try:
                if self._start(engine):
                    self._supervise(engine)
            finally:
                self.ended.set()
                engine.close()
                if self.pool is not None:
                    self.pool.stop()
        return judge(self)

    def _start(self, engine: EngineProcess) -> bool:
        """Until the users start: place the workers once the master has its port."""
        deadline = time.monotonic() + 90.0
        while time.monotonic() < deadline:
            event = engine.next_event(1.0)
            if event is None:
                continue
            kind = event["type"]
            if kind == "master" and self.pool is not None:
                self.pool.start(master=(event["host"], event["port"]), count=self.req.workers,
                                locustfiles=[str(p) for p in self.req.profile.paths()],
                                classes=list(self.req.profile.classes),
                                out_dir=self.req.out_dir,
                                env={**self.req.profile.env, **self.req.env})
                self.listen("note", {"message": f"master on {event['host']}:{event['port']}; "
                                     f"{self.req.workers} local workers started"})
            elif kind == "running":
                self.running_at = event["at"]
                self.out.started_at = event["at"]
                self.out.target_users = event["target_users"]
                return True
            elif kind in ("error", "exit"):
                self._handle(event, engine)
                return False
        self.out.error = {"kind": "startup", "message": "the engine did not start within 90 s"}
        return False

    def _supervise(self, engine: EngineProcess) -> None:
        monitor = threading.Thread(target=self._monitor, args=(engine,),
                                   name="load-monitor", daemon=True)
        monitor.start()
        try:
            if self.chaos is not None and self.req.chaos is not None:
                self._host_chaos(engine, self.req.chaos.at_s)
            while monitor.is_alive():
                monitor.join(0.2)
        except KeyboardInterrupt:
            self.interrupted = "interrupted by the operator (Ctrl-C)"
            self._stop(engine, self.interrupted)
            monitor.join(STOP_ALLOWANCE_S)

    # the monitor thread -----------------------------------------------------------------
    def _monitor(self, engine: EngineProcess) -> None:
        hard_deadline = time.monotonic() + self.req.duration_s + STOP_ALLOWANCE_S
        killed = False
        while True:
            event = engine.next_event(1.0)
            if self.pool is not None:
                self.validity.observe_pool(self.pool.statuses(), stopping=self.stopping)
            if time.monotonic() > hard_deadline and not killed:
                killed = True
                self.listen("note", {"message": "the engine overran its deadline; killing it"})
                self.out.invalid.append("the engine did not stop within "
                                        f"{STOP_ALLOWANCE_S:g} s of its duration; killed")
                threading.Thread(target=engine.close, args=(5.0,), daemon=True).start()
            if event is not None and self._handle(event, engine):
                break
        self.ended.set()

    def _handle(self, event: dict[str, Any], engine: EngineProcess) -> bool:
        """Act on one engine event; True after the last one."""
        kind = event["type"]
        if kind == "tick":
            self._on_tick(event, engine)
        elif kind == "rows":
            self.out.rows.extend(event["rows"])
        elif kind == "stopping":
            self.stopping = True
            self.out.stop_reason = self.abort_reason or self.interrupted or event["reason"]
            if self.chaos is not None:
                self.chaos.interrupt("the load run ended")
        elif kind == "done":
            self.out.summary, self.out.files = event["summary"], event["files"]
            self.out.ended_at = event["summary"]["ended_at"]
        elif kind == "error":
            self.out.error = {k: v for k, v in event.items() if k != "type"}
            self.stopping = True
        elif kind == "exit":
            if event["code"] not in (0, None) and self.out.error is None:
                self.out.error = {"kind": "engine", "message": f"the engine exited with code "
                                  f"{event['code']}; see {self.req.out_dir / 'engine.stderr'}"}
            return True
        return False

    def _on_tick(self, tick: dict[str, Any], engine: EngineProcess) -> None:
        self.out.rows.extend(tick["rows"])
        self.max_users = max(self.max_users, tick["users"])
        self.out.workers = tick["workers"]
        self.validity.observe_tick(tick)
        p99 = (tick["window"].get("latency_ms") or {}).get("p99")
        self.out.ticks.append({"at": tick["at"], "elapsed": tick["elapsed"],
                               "users": tick["users"], "rps": tick["rps"],
                               "fail_rps": tick["fail_rps"], "window_p99": p99,
                               "locust_p99": (tick["locust_ms"] or {}).get("p99"),
                               "cpu": {w["id"]: w["cpu"] for w in tick["workers"]}
                               or {"engine": tick["engine"]["cpu"]},
                               "engine": tick["engine"]})
        self.listen("tick", tick)
        if self.stopping or self.abort_reason or self.interrupted:
            return
        breach = self.gates.observe(tick["elapsed"], tick["window"], tick["locust_ms"])
        if breach is not None:
            self.abort_reason = breach.reason()
            if self.req.profile.breakpoint:
                self.out.breakpoint_users = self._users_at(tick["elapsed"] - breach.since_s)
            self._stop(engine, self.abort_reason)

    def _users_at(self, elapsed: float) -> int:
        """The user count when the breach began: the step the target could not hold."""
        before = [t["users"] for t in self.out.ticks if t["elapsed"] <= elapsed + 0.5]
        return before[-1] if before else self.out.ticks[0]["users"]

    def _stop(self, engine: EngineProcess, reason: str) -> None:
        self.listen("note", {"message": f"stopping: {reason}"})
        engine.request_stop()
        if self.chaos is not None:
            self.chaos.interrupt(f"load run stopped: {reason}")

    # chaos, in the main thread ----------------------------------------------------------
    def _host_chaos(self, engine: EngineProcess, at_s: float) -> None:
        assert self.chaos is not None and self.running_at is not None
        while not self.ended.is_set() and not self.stopping \
                and time.time() - self.running_at < at_s:
            self.ended.wait(0.1)
        if self.ended.is_set() or self.stopping:
            self.chaos.outcome.note = f"the load run ended before the chaos point ({at_s:g} s)"
            return
        self.listen("note", {"message": f"chaos: running {self.chaos.path.name} "
                             f"({self.chaos.outcome.title})"})
        outcome = self.chaos.run()
        self.listen("note", {"message": f"chaos: {outcome.status}"
                             + (f", interrupted by {outcome.interrupted_by}"
                                if outcome.interrupted_by else "")})
        if outcome.interrupted_by == "operator (Ctrl-C)":
            self.interrupted = "interrupted by the operator (Ctrl-C) during the experiment"
            self._stop(engine, self.interrupted)

    def final_gate_failures(self) -> list[str]:
        hdr = self.out.summary.get("hdr") or {}
        locust_ms = (self.out.summary.get("locust") or {}).get("ms") or {}
        return final_failures(self.req.gates, hdr, locust_ms)
