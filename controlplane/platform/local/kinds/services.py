"""The reference cluster's application services and the control-plane service itself."""

from __future__ import annotations

from pathlib import Path

from controlplane.platform.local.kinds.base import (
    REPO_ROOT,
    BuildContext,
    Kind,
    ProcessSpec,
    http_probe,
    write_file,
)
from controlplane.platform.local.shardmap import read_epoch
from controlplane.project import project_folder
from controlplane.topology import ControlplaneSettings, MatcherSettings, Service

__all__ = ["APP_USER", "KINDS", "ledger_dsn"]

APP_USER = "trader"
TRADING_FILE = REPO_ROOT / "testbed" / "trading.yaml"


def ledger_dsn(ctx: BuildContext, client: str | None = None) -> str:
    """The ledger's write endpoint (HAProxy), through the mesh when `client` is given."""
    proxy = ctx.first("haproxy")
    addr = ctx.via(client, proxy, "primary") if client else ctx.addr(proxy, "primary")
    return f"postgresql://{APP_USER}:{ctx.secrets['app']}@{addr}/ledger"


def _otlp(ctx: BuildContext) -> str | None:
    if not ctx.topology.has_kind("controlplane"):
        return None
    return ctx.url(ctx.first("controlplane")) + "/v1/traces"


def _testbed(kind: str):
    def build(ctx: BuildContext, name: str, svc: Service, index: int) -> ProcessSpec:
        inst = f"{name}-{index}"
        config: dict[str, object] = {
            "service": kind, "instance": inst, "host": "127.0.0.1",
            "port": ctx.ports[inst]["http"], "trading": str(TRADING_FILE),
            "otlp_endpoint": _otlp(ctx), "otlp_token": ctx.secrets["telemetry"],
            "admin_token": ctx.secrets["admin"],
        }
        if kind in ("gateway", "matcher"):
            config["ledger_dsn"] = ledger_dsn(ctx, inst)
            md = ctx.first("marketdata")
            config["marketdata"] = f"http://{ctx.via(inst, md, 'http')}"
        if kind == "gateway":
            config["matchers"] = [f"http://{ctx.via(inst, m, 'http')}"
                                  for m in ctx.instances_of("matcher")]
            config["shard_epoch"] = read_epoch(ctx.state.root)
        if kind == "matcher":
            settings: MatcherSettings = svc.typed_settings()
            config["shard"] = index
            config["shards"] = max(len(ctx.instances_of("matcher")), index + 1)
            config["shard_epoch"] = read_epoch(ctx.state.root)
            config["engine_cost_ms"] = settings.engine_cost_ms
        cwd = ctx.state.instance_dir(inst)
        path = write_file(cwd / "config.json", config, mode=0o600)
        url = ctx.url(inst)
        return ProcessSpec(
            instance=inst, component=name, kind=kind, cwd=cwd,
            argv=[ctx.python, "-m", f"testbed.{kind}", "--config", str(path)],
            endpoints={"http": url},
            probe=lambda session: http_probe(session, url + "/readyz"),
            env={"PYTHONPATH": str(REPO_ROOT)}, stop_timeout=5)
    return build


MACHINE_ROLES = {"intake": "alert-intake", "telemetry": "telemetry", "scrape": "scraper",
                 "owner": "admin"}


def _credentials(ctx: BuildContext, inst: str) -> Path:
    """The control plane's machine credentials: Prometheus posting alerts and scraping, the
    services sending traces, and the token of whoever started the cluster (mode 0600)."""
    return write_file(ctx.state.instance_dir(inst) / "credentials.json",
                      {name: {"role": role, "token": ctx.secrets[name]}
                       for name, role in MACHINE_ROLES.items()}, mode=0o600)


def _controlplane(ctx: BuildContext, name: str, svc: Service, index: int) -> ProcessSpec:
    inst = f"{name}-{index}"
    url = ctx.url(inst)
    settings: ControlplaneSettings = svc.typed_settings()
    argv = [ctx.python, "-m", "controlplane", "serve", "--host", "127.0.0.1",
            "--port", str(ctx.ports[inst]["http"]), "--state-dir", str(ctx.state.root),
            "--max-spans", str(settings.max_spans),
            "--runbooks", str(project_folder("runbooks")),
            "--credentials", str(_credentials(ctx, inst))]
    if settings.forward_otlp_endpoint:
        argv += ["--forward-otlp", settings.forward_otlp_endpoint]
    return ProcessSpec(
        instance=inst, component=name, kind="controlplane", cwd=ctx.state.instance_dir(inst),
        argv=argv,
        endpoints={"http": url, "otlp": url + "/v1/traces"},
        probe=lambda session: http_probe(session, url + "/readyz"),
        env={"PYTHONPATH": str(REPO_ROOT)}, stop_timeout=5)


KINDS = {
    "gateway": Kind(build=_testbed("gateway"), scrape_port="http", start_timeout=60),
    "matcher": Kind(build=_testbed("matcher"), scrape_port="http", start_timeout=60),
    "marketdata": Kind(build=_testbed("marketdata"), scrape_port="http", start_timeout=30),
    "controlplane": Kind(build=_controlplane, scrape_port="http", start_timeout=30),
}
