"""Debian's prometheus-alertmanager between Prometheus and the control plane (optional: a
service of kind `alertmanager` in the topology, or `cluster up --alertmanager`)."""

from __future__ import annotations

from controlplane.host.tools import require
from controlplane.observe.alertmanager_config import render_alertmanager_config
from controlplane.platform.local.kinds.base import (
    BuildContext,
    Kind,
    ProcessSpec,
    http_probe,
    write_file,
)
from controlplane.topology import AlertmanagerSettings, Service

__all__ = ["KIND"]


def _build(ctx: BuildContext, name: str, svc: Service, index: int) -> ProcessSpec:
    inst = f"{name}-{index}"
    settings: AlertmanagerSettings = svc.typed_settings()
    cwd = ctx.state.instance_dir(inst)
    intake_url = intake = None
    if ctx.topology.has_kind("controlplane"):
        intake_url = ctx.url(ctx.first("controlplane")) + "/api/v2/alerts"
        intake = write_file(cwd / "intake.token", ctx.secrets["intake"], mode=0o600)
    cfg = write_file(cwd / "alertmanager.yml", render_alertmanager_config(
        intake_url=intake_url, intake_credentials=intake, people=settings.people,
        group_wait=settings.group_wait, group_interval=settings.group_interval,
        repeat_interval=settings.repeat_interval), mode=0o600)
    url = ctx.url(inst)
    argv = [require("prometheus-alertmanager"), f"--config.file={cfg}",
            f"--storage.path={ctx.state.data(inst)}",
            f"--web.listen-address={ctx.addr(inst, 'http')}", f"--web.external-url={url}",
            "--cluster.listen-address=",          # one instance: no gossip port
            "--log.level=warn"]
    return ProcessSpec(instance=inst, component=name, kind="alertmanager", cwd=cwd, argv=argv,
                       endpoints={"http": url},
                       probe=lambda session: http_probe(session, url + "/-/ready"),
                       stop_timeout=10)


KIND = Kind(build=_build, scrape_port="http", start_timeout=30)
