"""One link (e.g. gateway->matcher-0): a listener, its open connections and its fault."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from controlplane.platform.local.faultproxy.config import LinkConfig
from controlplane.platform.local.faultproxy.connection import Connection, reset_transport
from controlplane.platform.local.faultproxy.metrics import LinkMetrics
from controlplane.platform.local.faultproxy.spec import DIRECTIONS, Direction, FaultSpec
from controlplane.platform.local.faultproxy.state import FaultState

__all__ = ["Link"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0


class Link:
    def __init__(self, config: LinkConfig, metrics: LinkMetrics, *,
                 clock: Callable[[], float], rng: random.Random) -> None:
        self.config = config
        self.name = config.name
        self._metrics = metrics
        self.faults = FaultState(clock, self._fault_changed)
        self._rng = rng
        self._connections: set[Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.accepted = 0
        self.bytes: dict[Direction, int] = {d: 0 for d in DIRECTIONS}

    @property
    def listen(self) -> str:
        """host:port as bound (the real port when the config said 0)."""
        if self._server is None or not self._server.sockets:
            return self.config.listen
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    async def start(self) -> None:
        host, port = self.config.listen_at
        self._server = await asyncio.start_server(self._accept, host, port, reuse_address=True)

    async def stop(self, grace_s: float = 2.0) -> None:
        """Stop listening, close every open connection, and wait for their handlers (those
        still connecting upstream after `grace_s` are cancelled)."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.close()
        if self._handlers:
            _, pending = await asyncio.wait(set(self._handlers), timeout=grace_s)
            for task in pending:
                task.cancel()

    def set_fault(self, spec: FaultSpec) -> None:
        self.faults.set(spec)
        if spec.reset:
            for connection in list(self._connections):
                self._metrics.resets()
                connection.reset()

    def view(self) -> dict[str, Any]:
        spec = self.faults.current()
        remaining = self.faults.remaining()
        return {"name": self.name, "listen": self.listen, "upstream": self.config.upstream,
                "fault": None if spec is None else spec.model_dump(),
                "ttl_remaining_s": None if remaining is None else round(remaining, 3),
                "open_connections": len(self._connections),
                "connections_total": self.accepted, "bytes": dict(self.bytes)}

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A connection's handler: the end of it is the end of the connection."""
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._handle(reader, writer)
        except asyncio.CancelledError:   # only stop() cancels a handler; end it quietly
            reset_transport(writer.transport)
        finally:
            self._handlers.discard(task)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._metrics.connections()
        if self._resets_new():
            return reset_transport(writer.transport)
        try:
            upstream = await asyncio.wait_for(
                asyncio.open_connection(*self.config.upstream_at), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            log.warning("%s: cannot reach %s: %s", self.name, self.config.upstream, exc)
            return reset_transport(writer.transport)
        connection = Connection((reader, writer), upstream, self.faults, self._count, self._rng)
        await self._proxy(connection)

    def _resets_new(self) -> bool:
        spec = self.faults.current()
        if spec is None or not (spec.reset or self._rng.random() < spec.reset_probability):
            return False
        self._metrics.resets()
        return True

    async def _proxy(self, connection: Connection) -> None:
        self._connections.add(connection)
        self._metrics.open.inc()
        try:
            spec = self.faults.current()
            if spec is not None and spec.reset:   # set while we were connecting upstream
                self._metrics.resets()
                connection.reset()
            await connection.run()
        except Exception:
            log.exception("%s: connection failed", self.name)
            connection.reset()
        finally:
            self._connections.discard(connection)
            self._metrics.open.dec()

    def _fault_changed(self, spec: FaultSpec | None) -> None:
        if spec is None:
            log.info("%s: no fault", self.name)
        else:
            log.info("%s: fault %s for %s s", self.name, ", ".join(spec.kinds()) or "(none)",
                     spec.ttl_s)
        self._metrics.show_fault(spec)

    def _count(self, direction: Direction, size: int) -> None:
        self.bytes[direction] += size
        self._metrics.sent[direction](size)
