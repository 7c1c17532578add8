"""What the handlers share, kept on the aiohttp application under `STATE`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from controlplane.observe.forward import OtlpForwarder
from controlplane.observe.spans import SpanStore
from controlplane.server.settings import ServerSettings
from controlplane.store import Store

__all__ = ["STATE", "ServerState"]


@dataclass
class ServerState:
    settings: ServerSettings
    spans: SpanStore
    forwarder: OtlpForwarder | None
    clock: Callable[[], float]
    store: Store | None = None  # opened when the application starts, if state_dir is set


STATE = web.AppKey("state", ServerState)
