"""The entry-point scaffold: `python -m testbed.<service> --config <path.json>`.

Reads and checks the configuration (exit 2 naming the file and field when it is wrong),
configures the tracing SDK, serves until SIGTERM or SIGINT, then stops accepting, lets
in-flight requests finish, runs the cleanup hooks (closing pools), flushes spans and
exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from opentelemetry import trace
from prometheus_client import CollectorRegistry

from testbed.config import ServiceConfig, ServiceName, load_service_config
from testbed.errors import InvalidConfig
from testbed.service.app import ServiceContext
from testbed.service.telemetry import setup_tracing, shutdown_tracing
from testbed.trading import Trading, load_trading

__all__ = ["Builder", "run_service"]

log = logging.getLogger(__name__)

Builder = Callable[[ServiceContext], web.Application]


def run_service(service: ServiceName, build: Builder, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m testbed.{service}")
    parser.add_argument("--config", required=True, help="the JSON file the platform wrote")
    args = parser.parse_args(argv)
    try:
        config, trading = _load(service, args.config)
    except InvalidConfig as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(config.instance)
    provider = setup_tracing(service, config.instance, config.otlp_endpoint,
                             config.otlp_token)
    tracer = trace.get_tracer(f"testbed.{service}")
    ctx = ServiceContext(config, trading, CollectorRegistry(), tracer)
    try:
        asyncio.run(_serve(build(ctx), config.host, config.port))
    except OSError as exc:
        log.error("cannot serve on %s:%s: %s", config.host, config.port, exc)
        return 1
    finally:
        shutdown_tracing(provider)
    log.info("stopped")
    return 0


def _load(service: ServiceName, path: str) -> tuple[ServiceConfig, Trading]:
    config = load_service_config(path)
    if config.service != service:
        raise InvalidConfig(path, "service", f"this is the {service} entry point", config.service)
    trading = config.trading if config.trading.is_absolute() else Path(path).parent / config.trading
    return config, load_trading(trading)


def _setup_logging(instance: str) -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s {instance} %(name)s: %(message)s")


async def _serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=3.0)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
        log.info("serving on http://%s:%s", host, port)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
