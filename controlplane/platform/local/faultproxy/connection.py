"""A proxied connection: the client side, the upstream side and a pump each way.

It ends when both directions have passed their EOF on (full duplex, half-close kept), or
when either side fails: then both sides are aborted, and a reset on one side is passed on
as a reset (RST) to the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Callable

from controlplane.platform.local.faultproxy.pump import FaultSource, Pump
from controlplane.platform.local.faultproxy.spec import Direction

__all__ = ["Connection", "Side", "reset_transport"]

Side = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_LINGER_0 = struct.pack("ii", 1, 0)


def reset_transport(transport: asyncio.BaseTransport, rst: bool = True) -> None:
    """Close now, dropping buffered bytes; with `rst` the peer gets a RST (SO_LINGER 0)."""
    sock = transport.get_extra_info("socket")
    if rst and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    else:
        transport.close()


class Connection:
    def __init__(self, client: Side, upstream: Side, faults: FaultSource,
                 count: Callable[[Direction, int], None], rng: random.Random) -> None:
        self._writers = (client[1], upstream[1])
        self._pumps = (
            Pump(client[0], upstream[1], "upstream", faults,
                 lambda n: count("upstream", n), rng),
            Pump(upstream[0], client[1], "downstream", faults,
                 lambda n: count("downstream", n), rng))
        self._tasks: list[asyncio.Task[None]] = []
        self._done = False

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._tasks = [group.create_task(pump.run()) for pump in self._pumps]
        except* OSError as failed:
            self._abort(rst=any(isinstance(exc, ConnectionResetError)
                                for exc in failed.exceptions))
        finally:
            self.close()

    def reset(self) -> None:
        """Reset both sides (RST), as a fault does."""
        self._abort(rst=True)

    def close(self) -> None:
        """Stop both pumps and close both sides gracefully (FIN after what is buffered)."""
        for task in self._tasks:
            task.cancel()
        if not self._done:
            self._done = True
            for writer in self._writers:
                writer.close()

    def _abort(self, rst: bool) -> None:
        self._done = True
        for writer in self._writers:
            reset_transport(writer.transport, rst)
