"""Prometheus, scraping every component of the cluster (1 s in local mode)."""

from __future__ import annotations

from controlplane.host.tools import require
from controlplane.observe.scrape_config import render_prometheus_config
from controlplane.platform.local.kinds.base import (
    BuildContext,
    Kind,
    ProcessSpec,
    http_probe,
    write_file,
)
from controlplane.runbooks.links import runbook_urls
from controlplane.slo import load_slos, render_rules
from controlplane.topology import PrometheusSettings, Service

__all__ = ["KIND"]


def _build(ctx: BuildContext, name: str, svc: Service, index: int) -> ProcessSpec:
    from controlplane.platform.local.kinds import KINDS

    inst = f"{name}-{index}"
    settings: PrometheusSettings = svc.typed_settings()
    jobs = {sname: KINDS[s.kind].metrics_path for sname, s in ctx.topology.services.items()
            if KINDS[s.kind].scrape_port}
    cwd = ctx.state.instance_dir(inst)
    rules = ctx.state.root / "prometheus" / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    controlplanes = [s for s, svc in ctx.topology.services.items() if svc.kind == "controlplane"]
    # local mode loads them; runbook_url links to this cluster's own control plane
    base = ctx.url(ctx.first("controlplane")) if controlplanes else None
    write_file(rules / "slo-rules.yml",
               render_rules(load_slos(), runbook_urls(base) if base else None))
    intake = scrape = None
    if controlplanes:                  # its service asks for credentials (issue 10)
        intake = write_file(cwd / "intake.token", ctx.secrets["intake"], mode=0o600)
        scrape = write_file(cwd / "scrape.token", ctx.secrets["scrape"], mode=0o600)
    alertmanagers = None
    if ctx.topology.has_kind("alertmanager"):      # it groups, then posts to the control plane
        alertmanagers, intake = [ctx.addr(ctx.first("alertmanager"), "http")], None
    elif controlplanes:                             # the control plane's intake, directly
        alertmanagers = [ctx.addr(ctx.first("controlplane"), "http")]
    cfg = write_file(cwd / "prometheus.yml", render_prometheus_config(
        jobs, ctx.state.targets_dir, cluster=ctx.topology.name,
        scrape_interval=settings.scrape_interval, rule_files=[str(rules / "*.yml")],
        alertmanagers=alertmanagers, alertmanager_credentials=intake,
        job_credentials={job: scrape for job in controlplanes if scrape is not None}))
    url = ctx.url(inst)
    argv = [require("prometheus"), f"--config.file={cfg}",
            f"--storage.tsdb.path={ctx.state.data(inst)}",
            f"--storage.tsdb.retention.time={settings.retention}",
            f"--web.listen-address={ctx.addr(inst, 'http')}", "--web.enable-lifecycle",
            "--log.level=warn"]
    return ProcessSpec(instance=inst, component=name, kind="prometheus", cwd=cwd, argv=argv,
                       endpoints={"http": url},
                       probe=lambda session: http_probe(session, url + "/-/ready"),
                       stop_timeout=10)


KIND = Kind(build=_build, scrape_port="http", start_timeout=30)
