"""A minimal platform over real processes, for fault tests without the reference cluster.

Each instance is a process given by its pid (a `sleep`); `freeze` and `thaw` send SIGSTOP and
SIGCONT, and an instance's state is read from /proc, so every process that builds the same
platform sees the same cluster: a runner subprocess and the test that reaps after it.
`network()` adds real nftables rules, tagged as the local platform tags them, to a table the
test names; they match only packets to 127.255.255.254:9, which nothing uses.

Run as a module, it is a chaos runner that dies on demand: it records a chaos run, injects one
fault through the real FaultEngine, prints the fault's id and sleeps until killed.

    python -m tests.support.fake_platform --db DB --instance gateway-0=PID [--instance ...]
        --kind process-pause --target gateway-0 --params '{"duration_s": 30}' --run-id R
        [--nft-table T] [--no-run-record]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.host.procs import proc_state
from controlplane.platform.base import ClusterInfo, ComponentInfo, Health, InstanceInfo
from tests.support.local import Nft

__all__ = ["HARMLESS_RULE", "FakeNetwork", "ProcessPlatform"]

HARMLESS_RULE = "ip daddr 127.255.255.254 tcp dport 9 counter drop"


class FakeNetwork:
    def __init__(self, table: str) -> None:
        self.nft = Nft(table)

    def block(self, tag: str, sources: list[str], destinations: list[str],
              percent: float = 100.0) -> list[str]:
        rules = [HARMLESS_RULE for _ in sources]
        self.nft.add(tag, rules)
        return rules

    def unblock(self, tag: str) -> int:
        return self.nft.delete(tag)

    def active(self, tag: str) -> list[dict[str, Any]]:
        return [{"handle": r["handle"]} for r in self.nft.rules(tag)]


class ProcessStates:
    """The one resource question the process faults ask: are the instance's processes frozen."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def process_states(self, instance_id: str, match: str) -> list[str]:
        letter = proc_state(self.pids[instance_id])
        return [] if letter in ("", "Z") else ["frozen" if letter == "T" else "running"]


class ProcessPlatform:
    """Instances `component-N` -> pid; `calls` lists the actions taken in this process."""

    name = "fake"

    def __init__(self, pids: dict[str, int], nft_table: str | None = None) -> None:
        self.pids = pids
        self.nft_table = nft_table
        self.calls: list[tuple[str, str]] = []
        self.on_pause = lambda instance: None

    def info(self) -> ClusterInfo:
        instances = []
        for inst, pid in self.pids.items():
            letter = proc_state(pid)
            state = {"T": "paused", "": "exited", "Z": "exited"}.get(letter, "running")
            instances.append(InstanceInfo(
                id=inst, component=inst.rsplit("-", 1)[0], kind=inst.rsplit("-", 1)[0],
                state=state, running=state != "exited", endpoints={},
                health=Health(alive=state == "running", ready=state == "running"),
                incarnation=str(pid) if state != "exited" else "", handle=f"pid {pid}"))
        names = sorted({i.component for i in instances})
        components = [ComponentInfo(n, n, "core", "always", [],
                                    [i.id for i in instances if i.component == n], True)
                      for n in names]
        return ClusterInfo("fake", "fake", "ready", "", components, instances)

    def freeze(self, instance_id: str) -> None:
        self.calls.append(("freeze", instance_id))
        self.on_pause(instance_id)
        os.kill(self.pids[instance_id], signal.SIGSTOP)

    def thaw(self, instance_id: str) -> None:
        self.calls.append(("thaw", instance_id))
        os.kill(self.pids[instance_id], signal.SIGCONT)

    def resources(self) -> ProcessStates:
        return ProcessStates(self.pids)

    def network(self) -> FakeNetwork:
        assert self.nft_table, "this fake platform has no nftables table"
        return FakeNetwork(self.nft_table)

    def sweep(self, open_tags: set[str] | None = None) -> list[str]:
        """The reaper's and the halt's last step: it keeps nothing in a cluster to delete."""
        return []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--instance", action="append", required=True)
    parser.add_argument("--kind", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--params", default="{}")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--nft-table")
    parser.add_argument("--no-run-record", action="store_true",
                        help="as a plain `chaos run` of Chaos Toolkit: no chaos run row")
    args = parser.parse_args()
    pids = {k: int(v) for k, v in (i.split("=", 1) for i in args.instance)}
    platform = ProcessPlatform(pids, args.nft_table)
    ctx = FaultContext(platform, args.db)  # type: ignore[arg-type]
    if not args.no_run_record:
        ctx.store.start_chaos_run(args.run_id, "fake.json", "a runner that dies", [],
                                  pid=os.getpid())
    fault = FaultEngine(ctx).inject(args.kind, args.target, json.loads(args.params),
                                    run_id=args.run_id, pick="all")
    print(fault.id, flush=True)
    time.sleep(120)


if __name__ == "__main__":
    main()
