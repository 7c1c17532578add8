"""The control-plane service as an aiohttp application: OTLP receiver, read API, alert intake,
the chaos API (runs, halt, resume), /metrics.

`create_app` wires the pieces; the store is opened and the forwarder started when the
application starts, and both are closed when it stops. Handlers run on the event loop and
call the store synchronously (short indexed SQLite reads).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from controlplane.application import launches
from controlplane.errors import QUOTE_LIMIT, ControlPlaneError, quote
from controlplane.observe.ack_audit import AckAudit
from controlplane.observe.evidence_metrics import EvidenceCollector
from controlplane.observe.forward import OtlpForwarder
from controlplane.observe.spans import SpanStore
from controlplane.platform.base import Platform
from controlplane.security.checkpoints import write_checkpoint
from controlplane.security.roles import load_roles, roles
from controlplane.server import (
    alerts_api,
    api,
    audit_api,
    availability_api,
    chaos_api,
    chaos_approvals_api,
    launch_api,
    openapi,
    runbooks_api,
    sessions_api,
    ui_api,
)
from controlplane.server.access import ACCESS, Access, access_middleware
from controlplane.server.errors import (
    error_document,
    error_middleware,
    error_reply,
    metrics_middleware,
)
from controlplane.server.receiver import receive_traces
from controlplane.server.settings import ServerSettings
from controlplane.server.state import STATE, ServerState
from controlplane.store import Store, db_path

__all__ = ["create_app"]

log = logging.getLogger(__name__)

REGISTRY = web.AppKey("registry", CollectorRegistry)
# why the runbooks did not load, set only when they did not (then nothing acts on alerts)
RUNBOOKS_ERROR = web.AppKey("runbooks_error", ControlPlaneError)


def create_app(settings: ServerSettings, registry: CollectorRegistry,
               clock: Callable[[], float] = time.time, *,
               timer: Callable[[], float] = time.perf_counter) -> web.Application:
    """The service; `clock` dates spans and records, `timer` measures request latency."""
    app = web.Application(client_max_size=settings.max_body_bytes,
                          middlewares=[metrics_middleware(registry, timer), error_middleware,
                                       access_middleware])
    app[ACCESS] = Access(load_roles(settings.roles_file) if settings.roles_file else roles(),
                         {c.token_sha256: (name, c.role)
                          for name, c in settings.machine_credentials.items()}, registry)
    forwarder = (OtlpForwarder(settings.forward_otlp_endpoint, registry,
                               headers=settings.forward_otlp_headers)
                 if settings.forward_otlp_endpoint else None)
    app[STATE] = ServerState(settings=settings, forwarder=forwarder, clock=clock,
                             spans=SpanStore(settings.max_spans, clock, registry))
    app[REGISTRY] = registry
    state = app[STATE]
    registry.register(EvidenceCollector(lambda: state.store, clock, settings.max_alert_names))
    app[alerts_api.ALERT_METRICS] = alerts_api.AlertMetrics(registry)
    app[alerts_api.ALERT_LISTENERS] = []
    app[chaos_api.CHAOS] = chaos_api.ChaosDoor(settings.state_dir)
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_post("/v1/traces", receive_traces)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_routes(api.routes)
    app.router.add_routes(alerts_api.routes)
    app.router.add_routes(chaos_api.routes)
    app.router.add_routes(chaos_approvals_api.routes)
    app.router.add_routes(audit_api.routes)
    app.router.add_routes(runbooks_api.routes)
    app.router.add_routes(openapi.routes)
    app.router.add_routes(launch_api.routes)
    app.router.add_routes(sessions_api.routes)
    app.router.add_routes(availability_api.routes)
    app.router.add_routes(ui_api.routes)
    if settings.state_dir is not None:
        app[launch_api.LAUNCHER] = launches.Launcher(settings.state_dir)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    audit: asyncio.Task | None = None
    checkpoints: asyncio.Task | None = None
    reaper: asyncio.Task | None = None
    scheduler: asyncio.Task | None = None
    stop = asyncio.Event()
    if state.settings.state_dir is not None:
        state.settings.state_dir.mkdir(parents=True, exist_ok=True)
        state.store = Store(db_path(state.settings.state_dir), clock=state.clock)
        checkpoints = asyncio.create_task(_checkpoints(app, stop))
        reaper = _start_reaper(state.settings.state_dir, stop)
        if state.settings.gameday_schedules is not None:
            scheduler = asyncio.create_task(_schedules(app, stop))
        if state.settings.runbooks_dir is not None:
            platform = _cluster_platform(state.settings.state_dir)
            _start_runbooks(app, platform)
            if state.settings.ack_audit_interval_s > 0:
                audit = asyncio.create_task(_ack_audit(app, platform).run(stop))
    if state.forwarder is not None:
        await state.forwarder.start()
    try:
        yield
    finally:
        stop.set()
        for task in (audit, checkpoints, reaper, scheduler):
            if task is not None:
                await task
        if state.forwarder is not None:
            await state.forwarder.close()
        if state.store is not None:
            state.store.close()
            state.store = None


async def _checkpoints(app: web.Application, stop: asyncio.Event) -> None:
    """A signed checkpoint of the audit chain's head every interval, and at shutdown."""
    state = app[STATE]
    assert state.settings.state_dir is not None
    while True:
        try:
            await asyncio.wait_for(stop.wait(), state.settings.audit_checkpoint_interval_s)
        except TimeoutError:
            pass
        if state.store is not None:
            try:
                write_checkpoint(state.settings.state_dir, state.store, state.clock())
            except (OSError, ControlPlaneError) as err:
                log.error("could not write an audit checkpoint: %s", err)
        if stop.is_set():
            return


async def _schedules(app: web.Application, stop: asyncio.Event) -> None:
    """Scheduled GameDays: every interval, each due time decided (and recorded) once; those
    that may start are launched as `controlplane gameday run` processes of their own."""
    from controlplane.application.schedules import tick
    from controlplane.chaos.schedules import load_schedules

    state = app[STATE]
    settings = state.settings
    assert settings.state_dir is not None and settings.gameday_schedules is not None
    schedules = load_schedules(settings.gameday_schedules)
    launcher = app[launch_api.LAUNCHER]

    def launch(schedule, gameday_id: str) -> None:
        argv = ["gameday", "run", *schedule.targets, "--policy", str(schedule.policy),
                "--schedule", schedule.name, "--id", gameday_id]
        launcher.start("gameday", argv, f"schedule:{schedule.name}")

    def once() -> None:
        with Store(db_path(settings.state_dir), clock=state.clock) as store:
            tick(store, schedules, state.clock(), launch)
    while not stop.is_set():
        try:
            await asyncio.to_thread(once)
        except (OSError, ControlPlaneError) as err:
            log.error("the GameDay scheduler could not decide: %s", err)
        try:
            await asyncio.wait_for(stop.wait(), settings.schedule_interval_s)
        except TimeoutError:
            pass


def _cluster_platform(state_dir: Path) -> Platform:
    """The cluster this service acts for: the platform its workspace records."""
    from controlplane.platform import open_platform

    return open_platform(state_dir)


def _start_reaper(state_dir: Path, stop: asyncio.Event) -> asyncio.Task | None:
    """The fault reaper (expiry, dead runners, the platform's leftover objects) for a platform
    that no supervisor of its own watches (Kubernetes); None for the others."""
    from controlplane.chaos.engine import FaultContext, FaultEngine
    from controlplane.chaos.reaper import reap_forever

    try:
        platform = _cluster_platform(state_dir)
    except ControlPlaneError as err:
        log.warning("no fault reaper in the service: %s", err)
        return None
    if not platform.reaped_by_service:
        return None
    return asyncio.create_task(reap_forever(
        lambda: FaultEngine(FaultContext(platform, platform.workspace.store_path)), stop))


def _ack_audit(app: web.Application, platform: Platform) -> AckAudit:
    """The continuous RPO audit: the gateways' journals against the ledger."""
    from controlplane.meter import present_orders
    from controlplane.trading.journals import acknowledged_orders

    settings = app[STATE].settings

    async def present(ids: list[str]) -> set[str]:
        return await present_orders(platform.ledger_dsn(), ids, query_timeout=5.0)
    return AckAudit(lambda since: acknowledged_orders(platform, since), present, app[REGISTRY],
                    window_s=settings.ack_audit_window_s,
                    interval_s=settings.ack_audit_interval_s)


def _start_runbooks(app: web.Application, platform: Platform) -> None:
    """Alerts start runbooks against `platform`."""
    from controlplane.runbooks.service import RunbookService

    settings = app[STATE].settings
    assert settings.state_dir is not None and settings.runbooks_dir is not None
    service = RunbookService(platform, db_path(settings.state_dir), settings.runbooks_dir)
    Gauge("controlplane_runbooks_loaded", "1 while the runbooks loaded, 0 when a runbook file "
          "was refused (then no alert starts any runbook; /readyz names the file)",
          registry=app[REGISTRY]).set(0 if service.load_error else 1)
    if service.load_error is not None:
        app[RUNBOOKS_ERROR] = service.load_error
    app[alerts_api.ALERT_LISTENERS].append(service.on_alerts)
    service.recover()


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    """Ready once started; with a state directory, only while the store answers; with
    runbooks, only if they all loaded (a refused file switches every runbook off)."""
    store = request.app[STATE].store
    if request.app[STATE].settings.state_dir is not None and (
            store is None or not store.healthy()):
        return error_reply(503, "the store is not open or does not answer")
    failed = request.app.get(RUNBOOKS_ERROR)
    if failed is not None:
        return _runbooks_not_loaded(failed)
    return web.json_response({"status": "ready"})


def _runbooks_not_loaded(err: ControlPlaneError) -> web.Response:
    """503 naming the refused runbook file, its field and value: no alert starts a runbook."""
    value = getattr(err, "value", None)
    if value is not None and len(str(value)) > QUOTE_LIMIT:
        value = quote(value)
    body = error_document(f"runbooks not loaded, so no alert starts any runbook: {err}",
                          getattr(err, "field", ""), value)["error"]
    return web.json_response({"error": {**body, "source": getattr(err, "source", "")}},
                             status=503)
