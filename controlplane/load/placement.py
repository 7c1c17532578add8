"""Where the Locust processes run: the engine (local runner or master) and the worker pool.

The control plane never imports Locust. It starts the engine as a child process and reads its
JSON event stream (`EngineProcess`), and it places workers through a `WorkerPool`:

- `LocalWorkerPool`: one `python -m controlplane.load.worker` process per worker on this
  machine, connecting to the master's loopback port.
- A Kubernetes pool implements the same three calls (`start`, `statuses`, `stop`) with a
  Deployment of worker pods running the same command; it is not built yet.

Every process starts in its own session (a terminal's Ctrl-C reaches only the control plane,
which stops them in order), in the run's directory, and is tied to the thread that started it
(PR_SET_PDEATHSIG), so a crashed control plane takes them with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from controlplane.errors import InvalidInput
from controlplane.host.procs import pdeathsig_preexec

__all__ = ["WORKER_POOLS", "EngineProcess", "LocalWorkerPool", "WorkerPool", "WorkerStatus",
           "worker_pool"]


def _spawn(argv: list[str], cwd: Path, log: Path, env: dict[str, str],
           stdout: int | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        return subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else err, stderr=err,
            env={**os.environ, **env}, start_new_session=True,
            preexec_fn=pdeathsig_preexec(signal.SIGTERM))


def _stop(popen: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the process's group, then SIGKILL it after `grace_s`."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        if popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(wait)


class EngineProcess:
    """`python -m controlplane.load.locust_process SPEC`: its events arrive on a queue, in order;
    the last one is `{"type": "exit", "code": N}`."""

    def __init__(self, spec_path: Path, out_dir: Path, env: dict[str, str]) -> None:
        self.popen = _spawn([sys.executable, "-m", "controlplane.load.locust_process",
                             str(spec_path)], out_dir, out_dir / "engine.stderr", env,
                            stdout=subprocess.PIPE)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="load-engine-events",
                                        daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue     # not ours; the engine routes prints to stderr, but be safe
            if isinstance(event, dict):
                self.events.put(event)
        self.events.put({"type": "exit", "code": self.popen.wait()})

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def request_stop(self) -> None:
        """Ask for a graceful stop: the engine stops the users and writes its results."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)

    def close(self, grace_s: float = 30.0) -> None:
        _stop(self.popen, grace_s)
        self._reader.join(5.0)


@dataclass(frozen=True)
class WorkerStatus:
    name: str
    alive: bool
    exit_code: int | None
    where: str           # "pid 1234" here; a pod name on Kubernetes


class WorkerPool(Protocol):
    """Where workers run. The engine (the master) reports its port; the pool starts `count`
    workers that connect to it, reports whether each is still there, and stops them."""

    name: str

    def start(self, *, master: tuple[str, int], count: int, locustfiles: list[str],
              classes: list[str], out_dir: Path, env: dict[str, str]) -> None: ...

    def statuses(self) -> list[WorkerStatus]: ...

    def stop(self, grace_s: float = 10.0) -> None: ...


class LocalWorkerPool:
    """Worker processes on this machine, one per core by default."""

    name = "local"

    def __init__(self) -> None:
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, *, master: tuple[str, int], count: int, locustfiles: list[str],
              classes: list[str], out_dir: Path, env: dict[str, str]) -> None:
        host, port = master
        for n in range(count):
            name = f"worker-{n}"
            argv = [sys.executable, "-m", "controlplane.load.worker", "--master-host", host,
                    "--master-port", str(port), "--out", str(out_dir), "--name", name,
                    *(arg for c in classes for arg in ("--class", c)), *locustfiles]
            self._procs[name] = _spawn(argv, out_dir, out_dir / f"{name}.stderr", env)

    def statuses(self) -> list[WorkerStatus]:
        return [WorkerStatus(name, p.poll() is None, p.poll(), f"pid {p.pid}")
                for name, p in self._procs.items()]

    def stop(self, grace_s: float = 10.0) -> None:
        deadline = time.monotonic() + grace_s
        for popen in self._procs.values():   # they normally quit with the master already
            _stop(popen, max(0.5, deadline - time.monotonic()))


WORKER_POOLS: dict[str, type[LocalWorkerPool]] = {"local": LocalWorkerPool}


def worker_pool(name: str) -> WorkerPool:
    if name not in WORKER_POOLS:
        raise InvalidInput(f"unknown worker pool; available: {', '.join(WORKER_POOLS)} "
                           "(kubernetes is not built yet)", field="--workers-on", value=name)
    return WORKER_POOLS[name]()
