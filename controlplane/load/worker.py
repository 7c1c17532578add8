"""A Locust worker process that also records HdrHistograms for the master.

    python -m controlplane.load.worker --master-host 127.0.0.1 --master-port PORT \
        --out DIR [--class NAME ...] LOCUSTFILE [LOCUSTFILE ...]

The same command a Kubernetes worker pod would run. It connects to the master, runs the users
the master assigns, and ships each stats report with its own HdrHistogram deltas, CPU and
memory (see `hooks.install_worker`). It exits when the master says quit, when it loses the
master for `--master-timeout` seconds, or on SIGTERM.
"""

from __future__ import annotations

import sys

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import locust.runners  # noqa: E402
from locust.env import Environment  # noqa: E402

from controlplane.load.histograms import DeltaRecorder  # noqa: E402
from controlplane.load.hooks import install_worker  # noqa: E402
from controlplane.load.locust_io import EngineError, load_locustfiles, setup_logging  # noqa: E402


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="controlplane.load.worker")
    parser.add_argument("--master-host", required=True)
    parser.add_argument("--master-port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--name", default=f"worker-{os.getpid()}")
    parser.add_argument("--class", dest="classes", action="append", default=[])
    parser.add_argument("--report-interval", type=float, default=1.0)
    parser.add_argument("--master-timeout", type=float, default=30.0)
    parser.add_argument("locustfiles", nargs="+")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    setup_logging(args.out / f"{args.name}.log")
    locust.runners.WORKER_REPORT_INTERVAL = args.report_interval
    locust.runners.MASTER_HEARTBEAT_TIMEOUT = args.master_timeout
    try:
        users, _ = load_locustfiles(args.locustfiles)
    except EngineError as err:
        print(f"{err.file}: {err}", file=sys.stderr)
        return 2
    chosen = [users[name] for name in args.classes if name in users] or list(users.values())
    env = Environment(user_classes=chosen)
    install_worker(env, DeltaRecorder())
    runner = env.create_worker_runner(args.master_host, args.master_port)
    gevent.signal_handler(signal.SIGTERM, runner.quit)
    runner.greenlet.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
