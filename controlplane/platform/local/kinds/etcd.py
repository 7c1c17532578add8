"""etcd: the distributed configuration store Patroni keeps its leader lock in."""

from __future__ import annotations

import json
import time

import aiohttp

from controlplane.host.tools import require
from controlplane.platform.base import Health
from controlplane.platform.local.kinds.base import BuildContext, Kind, ProcessSpec
from controlplane.topology import Service

__all__ = ["KIND", "client_urls"]


def client_urls(ctx: BuildContext) -> list[str]:
    return [ctx.addr(i, "client") for i in ctx.instances_of("etcd")]


def _build(ctx: BuildContext, name: str, svc: Service, index: int) -> ProcessSpec:
    inst = f"{name}-{index}"
    peers = ",".join(f"{i}=http://{ctx.addr(i, 'peer')}" for i in ctx.instances_of("etcd"))
    client = f"http://{ctx.addr(inst, 'client')}"
    data = ctx.state.data(inst)
    argv = [
        require("etcd"), "--name", inst, "--data-dir", str(data),
        "--listen-client-urls", client, "--advertise-client-urls", client,
        "--listen-peer-urls", f"http://{ctx.addr(inst, 'peer')}",
        "--initial-advertise-peer-urls", f"http://{ctx.addr(inst, 'peer')}",
        "--initial-cluster", peers, "--initial-cluster-token", ctx.topology.name,
        "--initial-cluster-state", "existing" if (data / "member").exists() else "new",
        "--heartbeat-interval", "100", "--election-timeout", "1000",
    ]

    async def probe(session: aiohttp.ClientSession) -> Health:
        now = time.time()
        try:
            async with session.get(client + "/health") as resp:
                body = json.loads(await resp.text())
                ok = str(body.get("health")) == "true"
                return Health(True, ok, "", "" if ok else str(body), now)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
            return Health(False, False, "", f"unreachable: {type(err).__name__}", now)

    return ProcessSpec(instance=inst, component=name, kind="etcd", argv=argv,
                       cwd=ctx.state.instance_dir(inst), endpoints={"client": client},
                       probe=probe, stop_timeout=5)


KIND = Kind(build=_build, scrape_port="client", start_timeout=30)
