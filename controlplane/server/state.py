"""What the handlers share, kept on the aiohttp application under `STATE`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from controlplane.observe.forward import OtlpForwarder
from controlplane.observe.spans import SpanStore
from controlplane.server.settings import ServerSettings
from controlplane.store import Store

__all__ = ["STATE", "ServerState", "store_of"]


@dataclass
class ServerState:
    settings: ServerSettings
    spans: SpanStore
    forwarder: OtlpForwarder | None
    clock: Callable[[], float]
    store: Store | None = None  # opened when the application starts, if state_dir is set


STATE = web.AppKey("state", ServerState)


def store_of(request: web.Request, keeps: str) -> Store:
    """The service's store; without a state directory, StoreError (503) saying it keeps no
    `keeps` ("runbook runs", "chaos runs", ...)."""
    from controlplane.errors import StoreError

    store = request.app[STATE].store
    if store is None:
        raise StoreError(f"the control plane runs without a state directory; it keeps no "
                         f"{keeps} (start it with --state-dir)")
    return store
