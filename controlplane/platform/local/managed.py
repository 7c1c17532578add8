"""One supervised instance: its process, desired state, restart policy and health."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

from controlplane.host.procs import alive, find_owned, pdeathsig_preexec, signal_group
from controlplane.platform.base import Health, InstanceInfo
from controlplane.platform.local.cgroups import Cgroups
from controlplane.platform.local.kinds.base import ProcessSpec
from controlplane.platform.local.state import StateDir

__all__ = ["BACKOFF_MAX", "Managed"]

BACKOFF_MAX = 10.0
STABLE_AFTER = 30.0   # a process that ran this long gets its backoff reset


@dataclass
class Managed:
    spec: ProcessSpec
    restart: str                     # always / on-failure / never
    state_dir: StateDir
    desired: str = "running"         # running / stopped
    state: str = "pending"
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    exit_code: int | None = None
    started_at: float | None = None
    paused: bool = False
    health: Health = field(default_factory=Health.unknown)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    cgroups: Cgroups | None = None

    @property
    def id(self) -> str:
        return self.spec.instance

    @property
    def pid(self) -> int | None:
        """The live process; None as soon as it died, before it is even reaped."""
        if self.proc is None or self.proc.returncode is not None or not alive(self.proc.pid):
            return None
        return self.proc.pid

    def info(self) -> InstanceInfo:
        pid = self.pid
        health, state = self.health, self.state
        if pid is None:          # dead: whatever the last probe said no longer holds
            health = Health(False, False, "", health.detail or "not running", health.checked_at)
            if state in ("running", "starting"):
                state = "exited"
        return InstanceInfo(
            id=self.id, component=self.spec.component, kind=self.spec.kind,
            state="paused" if self.paused and pid else state, running=pid is not None,
            endpoints=self.spec.endpoints, health=health, restarts=self.restarts,
            started_at=self.started_at, exit_code=self.exit_code,
            log=str(self.state_dir.log(self.id)),
            incarnation=f"{pid}@{self.started_at}" if pid else "",
            handle=f"pid {pid}" if pid else "")

    # process control --------------------------------------------------------------------
    async def spawn(self) -> None:
        self.spec.cwd.mkdir(parents=True, exist_ok=True)
        log_path = self.state_dir.log(self.id)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        owner = self.spec.run_as
        kwargs: dict = {}
        if owner is not None and owner.user is not None:
            kwargs = {"user": owner.uid, "group": owner.gid, "extra_groups": []}
        env = {**os.environ, "CONTROLPLANE_INSTANCE": self.id, **self.spec.env}
        with open(log_path, "ab") as log:  # noqa: ASYNC230 (a local append, no waiting)
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.id}: "
                      f"{' '.join(self.spec.argv)}\n".encode())
            log.flush()
            self.proc = await asyncio.create_subprocess_exec(
                *self.spec.argv, cwd=self.spec.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=pdeathsig_preexec(), **kwargs)
        if self.cgroups is not None:
            self.cgroups.place(self.id, self.proc.pid)
        self.started_at = time.time()
        self.exit_code = None
        self.paused = False
        self.health = Health.unknown("starting")
        self.state = "starting"

    def all_pids(self) -> list[int]:
        """The process, its group, and anything else running in its directory."""
        pids = {p.pid for p in find_owned([self.spec.cwd])}
        if self.cgroups is not None:
            pids.update(self.cgroups.pids(self.id))
        if self.pid:
            pids.add(self.pid)
        pids.update(self.spec.extra_pids())
        return sorted(pids)

    def send(self, sig: int) -> None:
        if self.pid:
            signal_group(self.pid, sig)
        for pid in self.all_pids():
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    async def terminate(self) -> None:
        """SIGTERM (after SIGCONT), wait up to the spec's timeout, then SIGKILL everything."""
        if not self.pid:
            return
        self.send(signal.SIGCONT)
        if self.pid:
            signal_group(self.pid, self.spec.stop_signal)
        try:
            await asyncio.wait_for(asyncio.shield(self._wait()), self.spec.stop_timeout)
        except TimeoutError:
            self.send(signal.SIGKILL)
            await self._wait()
        for pid in self.spec.extra_pids():     # e.g. a postmaster its parent failed to stop
            os.kill(pid, signal.SIGKILL)

    async def _wait(self) -> None:
        if self.proc is not None:
            await self.proc.wait()

    def backoff(self) -> float:
        ran = time.time() - (self.started_at or 0)
        if ran > STABLE_AFTER:
            return 1.0
        return min(BACKOFF_MAX, 2.0 ** min(self.restarts, 4))
