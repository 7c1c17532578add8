"""Run the service until SIGTERM or SIGINT: `controlplane serve`."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from controlplane.server.app import create_app
from controlplane.server.settings import ServerSettings

__all__ = ["RUNNER_OPTIONS", "make_runner", "run_server"]

log = logging.getLogger(__name__)
# Keep request bodies as sent: the receiver inflates them itself (with a size limit) and
# forwards them with their original Content-Encoding.
RUNNER_OPTIONS: dict[str, Any] = {"auto_decompress": False}


def make_runner(app: web.Application) -> web.AppRunner:
    """An AppRunner set up the way the service expects; use it to embed or test the app."""
    return web.AppRunner(app, **RUNNER_OPTIONS)


def run_server(settings: ServerSettings, registry: CollectorRegistry | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then stop cleanly (close the store, stop forwarding)."""
    if registry is None:
        registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    app = create_app(settings, registry)
    web.run_app(app, host=settings.host, port=settings.port, handle_signals=True,
                shutdown_timeout=5.0, print=log.info, **RUNNER_OPTIONS)
