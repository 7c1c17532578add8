"""A stand-in chaos runner for halt tests without the reference cluster: it records a chaos run
under its own pid, pauses a `sleep` process through the real FaultEngine (the process-pause
fault, on tests.support.fake_platform's ProcessPlatform), prints the fault's id and waits to be
halted, reacting to SIGUSR1 as told:

    revert   as the guarded runner does: revert the run's faults, record the run aborted, exit
    ignore   a runner the signal does not reach (SIGUSR1 ignored): the halt must revert for it
    die      SIGUSR1's default action: the process ends, its fault left open

    python -m tests.support.signal_runner --db DB --pid PID --run-id R --on-usr1 revert

`sleeping_instance` and `stand_in_runners` start them for a test and stop them after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.host.procs import alive, proc_state
from controlplane.workspace import Workspace
from tests.support.fake_platform import ProcessPlatform

__all__ = ["StartRunner", "WorkspacePlatform", "sleeping_instance", "stand_in_runners"]

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 60.0
StartRunner = Callable[..., tuple[subprocess.Popen[str], int]]


class WorkspacePlatform(ProcessPlatform):
    """The process platform with a workspace, where a halt finds the store."""

    def __init__(self, pids: dict[str, int], root: Path) -> None:
        super().__init__(pids)
        self.workspace = Workspace(root)


@contextlib.contextmanager
def sleeping_instance(cwd: Path) -> Iterator[int]:
    """A `sleep` process to pause, resumed and killed afterwards."""
    proc = subprocess.Popen(["sleep", "120"], cwd=cwd)
    try:
        yield proc.pid
    finally:
        if alive(proc.pid):
            os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def stand_in_runners(db: Path, instance_pid: int) -> Iterator[StartRunner]:
    """`start(on_usr1, run_id="run-1")` starts a stand-in runner and returns it with the id of
    the fault it injected (once it is in force); every one is killed afterwards."""
    started: list[subprocess.Popen[str]] = []

    def start(on_usr1: str, run_id: str = "run-1") -> tuple[subprocess.Popen[str], int]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.signal_runner", "--db", str(db), "--pid",
             str(instance_pid), "--run-id", run_id, "--on-usr1", on_usr1], cwd=REPO,
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        started.append(proc)
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.strip().isdigit(), f"the stand-in runner did not inject: {line!r}"
        assert proc_state(instance_pid) == "T"
        return proc, int(line)
    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            if proc.stdout:
                proc.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the gateway-0 process")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--on-usr1", choices=("revert", "ignore", "die"), required=True)
    args = parser.parse_args()
    ctx = FaultContext(ProcessPlatform({"gateway-0": args.pid}), args.db)  # type: ignore[arg-type]
    engine = FaultEngine(ctx)

    def revert(*_: object) -> None:
        engine.revert_run(args.run_id)
        ctx.store.finish_chaos_run(args.run_id, "aborted", "halted", {})
        sys.exit(0)
    if args.on_usr1 == "revert":
        signal.signal(signal.SIGUSR1, revert)
    elif args.on_usr1 == "ignore":
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    ctx.store.start_chaos_run(args.run_id, "stub.json", "a stand-in runner", [],
                              pid=os.getpid())
    fault = engine.inject("process-pause", "gateway-0", {"duration_s": 30},
                          run_id=args.run_id)
    print(fault.id, flush=True)
    time.sleep(WAIT_S)


if __name__ == "__main__":
    main()
