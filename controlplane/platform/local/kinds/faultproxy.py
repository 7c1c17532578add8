"""The mesh: one fault proxy carrying every dependency link of the cluster."""

from __future__ import annotations

from controlplane.platform.local.kinds.base import (
    BuildContext,
    Kind,
    ProcessSpec,
    http_probe,
    write_file,
)
from controlplane.topology import Service

__all__ = ["KIND"]


def _build(ctx: BuildContext, name: str, svc: Service, index: int) -> ProcessSpec:
    inst = f"{name}-{index}"
    ports = ctx.ports[inst]
    links = [{"name": link.name, "listen": f"127.0.0.1:{ports[link.name]}",
              "upstream": ctx.addr(link.server, link.port)}
             for link in ctx.topology.mesh_links() if link.name in ports]
    cwd = ctx.state.instance_dir(inst)
    cfg = write_file(cwd / "faultproxy.json", {
        "admin": {"host": "127.0.0.1", "port": ports["admin"]}, "links": links})
    admin = ctx.url(inst, "admin")
    return ProcessSpec(
        instance=inst, component=name, kind="faultproxy", cwd=cwd,
        argv=[ctx.python, "-m", "controlplane.platform.local.faultproxy", "--config", str(cfg)],
        endpoints={"admin": admin},
        probe=lambda session: http_probe(session, admin + "/healthz"), stop_timeout=5)


KIND = Kind(build=_build, scrape_port="admin", start_timeout=30)
