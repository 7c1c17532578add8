"""Entry point of the supervisor daemon: `python -m controlplane.platform.local.daemon --state DIR`.

Reads the cluster record written by `cluster up`, serves the API on the state directory's Unix
socket, enforces every chaos fault's expiry (the reaper, `controlplane.chaos.reaper`: it reverts
a fault whose runner died or is late, since the supervisor is the one process that runs as long
as the cluster does), and shuts the cluster down on SIGTERM or SIGINT (its children also get
SIGTERM if it dies without doing so, through PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from aiohttp import web

from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.chaos.reaper import reap_forever
from controlplane.host.procs import run_as
from controlplane.platform.local.api import make_app
from controlplane.platform.local.binaries import postgres_bindir
from controlplane.platform.local.kinds import BuildContext
from controlplane.platform.local.platform import LocalPlatform
from controlplane.platform.local.state import StateDir
from controlplane.platform.local.supervisor import Supervisor
from controlplane.topology import parse_topology

__all__ = ["build_context", "main"]


def build_context(state: StateDir) -> BuildContext:
    record = state.read_cluster()
    topology = parse_topology(record.topology, str(state.cluster_file)).effective()
    owner = run_as("postgres")
    postgres_bindir()     # fail early if PostgreSQL is missing
    return BuildContext(topology=topology, ports=record.ports, state=state,
                        secrets=state.secrets(), pg_owner=owner,
                        pg_root=state.postgres_data_root(owner))


def _fault_engine(state: StateDir) -> FaultEngine:
    """The reaper's fault engine: the same revert path as every runner's, through this
    supervisor's own API (called from a worker thread while the loop serves it)."""
    return FaultEngine(FaultContext(LocalPlatform(state.root), state.store_path))


async def _serve(state: StateDir) -> None:
    sup = Supervisor(build_context(state))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(sup.shutdown()))
    runner = web.AppRunner(make_app(sup), access_log=None)
    await runner.setup()
    sock = state.socket
    sock.unlink(missing_ok=True)
    site = web.UnixSite(runner, str(sock))
    await site.start()
    os.chmod(sock, 0o600)
    reaper = asyncio.create_task(reap_forever(
        lambda: _fault_engine(state), sup.stopped,
        ready=lambda: sup.phase == "ready" and not sup.closing))
    try:
        await sup.run()
    finally:
        sup.stopped.set()
        await reaper
        await runner.cleanup()
        sock.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", required=True, type=Path)
    args = parser.parse_args()
    state = StateDir(args.state)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state.pidfile.write_text(str(os.getpid()))
    try:
        asyncio.run(_serve(state))
    finally:
        state.pidfile.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
