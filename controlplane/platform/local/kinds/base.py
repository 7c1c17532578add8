"""What the supervisor needs to know to run one instance of a kind of component."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from controlplane.host.procs import RunAs
from controlplane.platform.base import Health
from controlplane.platform.local.state import StateDir
from controlplane.topology import Service, Topology

__all__ = ["REPO_ROOT", "BuildContext", "Kind", "ProcessSpec", "http_probe", "write_file"]

REPO_ROOT = Path(__file__).resolve().parents[4]

Probe = Callable[[aiohttp.ClientSession], Awaitable[Health]]


@dataclass(frozen=True)
class BuildContext:
    topology: Topology
    ports: dict[str, dict[str, int]]
    state: StateDir
    secrets: dict[str, str]
    pg_owner: RunAs
    pg_root: Path
    python: str = sys.executable

    def addr(self, instance: str, port: str) -> str:
        return f"127.0.0.1:{self.ports[instance][port]}"

    def url(self, instance: str, port: str = "http") -> str:
        return f"http://{self.addr(instance, port)}"

    def via(self, client: str, server: str, port: str) -> str:
        """Where `client` connects to reach `server`: the mesh link's port when the fault
        proxy carries that link, else the server itself."""
        mesh = self.ports.get("mesh-0", {})
        link = f"{client}->{server}"
        return f"127.0.0.1:{mesh[link]}" if link in mesh else self.addr(server, port)

    def first(self, kind: str) -> str:
        """The first instance id of the service of this kind."""
        name, _ = self.topology.by_kind(kind)
        return f"{name}-0"

    def instances_of(self, kind: str) -> list[str]:
        name, _ = self.topology.by_kind(kind)
        return [i for i in self.ports if i.rsplit("-", 1)[0] == name]


@dataclass
class ProcessSpec:
    instance: str
    component: str
    kind: str
    argv: list[str]
    cwd: Path
    endpoints: dict[str, str]
    probe: Probe
    env: dict[str, str] = field(default_factory=dict)
    run_as: RunAs | None = None
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 10.0
    extra_pids: Callable[[], list[int]] = lambda: []


Builder = Callable[[BuildContext, str, Service, int], ProcessSpec]
Hook = Callable[[BuildContext, str, str], Awaitable[None]]   # (ctx, service, primary)


@dataclass(frozen=True)
class Kind:
    build: Builder
    scrape_port: str | None = None      # which named port serves /metrics
    metrics_path: str = "/metrics"
    start_timeout: float = 60.0
    after_ready: Hook | None = None     # runs once the whole service is ready
    service_ready: Callable[[list[Health], Service], bool] | None = None


async def http_probe(session: aiohttp.ClientSession, url: str, alive_url: str | None = None,
                     role: str = "") -> Health:
    now = time.time()
    try:
        async with session.get(url) as resp:
            body = (await resp.text())[:200]
            if resp.status == 200:
                return Health(True, True, role, "", now)
            return Health(True, False, role, f"{resp.status}: {body}", now)
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        return Health(False, False, role, f"unreachable: {type(err).__name__}", now)


def write_file(path: Path, content: str | dict[str, Any], owner: RunAs | None = None,
               mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content, indent=2)
    path.write_text(text)
    os.chmod(path, mode)
    if owner is not None and owner.user is not None:
        os.chown(path, owner.uid, owner.gid)
    return path
