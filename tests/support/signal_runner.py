"""A stand-in chaos runner for halt tests without the reference cluster: it records a chaos run
under its own pid, pauses a `sleep` process through the real FaultEngine (the process-pause
fault, on tests.support.fake_platform's ProcessPlatform), prints the fault's id and waits to be
halted, reacting to SIGUSR1 as told:

    revert   as the guarded runner does: revert the run's faults, record the run aborted, exit
    ignore   a runner the signal does not reach (SIGUSR1 ignored): the halt must revert for it
    die      SIGUSR1's default action: the process ends, its fault left open

    python -m tests.support.signal_runner --db DB --pid PID --run-id R --on-usr1 revert
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from controlplane.chaos.engine import FaultContext, FaultEngine
from tests.support.fake_platform import ProcessPlatform

WAIT_S = 60.0


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
