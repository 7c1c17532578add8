"""The mesh: one fault proxy carrying every dependency link of the cluster."""

from __future__ import annotations

from controlplane.platform.local.kinds.base import (
    BuildContext,
    Kind,
    ProcessSpec,
    http_probe,
    write_file,
)
from controlplane.topology import MESH_EDGES, Service

__all__ = ["KIND", "link_config"]


def link_config(ctx: BuildContext, link: str) -> dict[str, str]:
    """A mesh link's listen and upstream addresses, from its name ("gateway-0->matcher-2") and
    the port plan: the links of instances scaled out at run time included."""
    client, _, server = link.partition("->")
    kinds = {n: s.kind for n, s in ctx.topology.services.items()}
    server_kind = kinds[server.rsplit("-", 1)[0]]
    port = dict(MESH_EDGES[kinds[client.rsplit("-", 1)[0]]])[server_kind]
    return {"listen": f"127.0.0.1:{ctx.ports['mesh-0'][link]}",
            "upstream": ctx.addr(server, port)}


def _build(ctx: BuildContext, name: str, svc: Service, index: int) -> ProcessSpec:
    inst = f"{name}-{index}"
    ports = ctx.ports[inst]
    links = [{"name": link, **link_config(ctx, link)} for link in ports if "->" in link]
    cwd = ctx.state.instance_dir(inst)
    cfg = write_file(cwd / "faultproxy.json", {
        "admin": {"host": "127.0.0.1", "port": ports["admin"], "token": ctx.secrets["admin"]},
        "links": links}, mode=0o600)
    admin = ctx.url(inst, "admin")
    return ProcessSpec(
        instance=inst, component=name, kind="faultproxy", cwd=cwd,
        argv=[ctx.python, "-m", "controlplane.platform.local.faultproxy", "--config", str(cfg)],
        endpoints={"admin": admin},
        probe=lambda session: http_probe(session, admin + "/healthz"), stop_timeout=5)


KIND = Kind(build=_build, scrape_port="admin", start_timeout=30)
