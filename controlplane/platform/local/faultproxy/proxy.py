"""The proxy: every link of a cluster in one process, looked up by name."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from controlplane.errors import PlatformError, UnknownTarget
from controlplane.platform.local.faultproxy.config import LinkConfig, ProxyConfig
from controlplane.platform.local.faultproxy.link import Link
from controlplane.platform.local.faultproxy.metrics import ProxyMetrics

__all__ = ["FaultProxy"]


class FaultProxy:
    def __init__(self, config: ProxyConfig, registry: CollectorRegistry, *,
                 clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.registry = registry
        self._metrics = metrics = ProxyMetrics(registry)
        self._clock = clock
        self._rng = rng = rng or random.Random()
        self.links = {link.name: Link(link, metrics.for_link(link.name), clock=clock, rng=rng)
                      for link in config.links}

    async def start(self) -> None:
        """Listen on every link; `PlatformError` naming the link whose address is taken."""
        for link in self.links.values():
            try:
                await link.start()
            except OSError as exc:
                await self.stop()
                raise PlatformError(f"link {link.name}: cannot listen on "
                                    f"{link.config.listen}: {exc.strerror or exc}") from exc

    async def stop(self) -> None:
        """Stop every link: no listener, no connection, no handler left."""
        await asyncio.gather(*(link.stop() for link in self.links.values()))

    def link(self, name: str) -> Link:
        try:
            return self.links[name]
        except KeyError:
            raise UnknownTarget("link", name, sorted(self.links)) from None

    async def add(self, config: LinkConfig) -> tuple[Link, bool]:
        """Carry one more link at run time (a scaled-out instance's): (link, created). The same
        link again is a no-op; the same name with other addresses is refused."""
        existing = self.links.get(config.name)
        if existing is not None:
            if existing.config != config:
                raise PlatformError(f"link {config.name} already exists with listen "
                                    f"{existing.config.listen} and upstream "
                                    f"{existing.config.upstream}; delete it first")
            return existing, False
        link = Link(config, self._metrics.for_link(config.name), clock=self._clock,
                    rng=self._rng)
        try:
            await link.start()
        except OSError as exc:
            raise PlatformError(f"link {config.name}: cannot listen on {config.listen}: "
                                f"{exc.strerror or exc}") from exc
        self.links[config.name] = link
        return link, True

    async def remove(self, name: str) -> bool:
        """Stop carrying a link (a scaled-in instance's); idempotent."""
        link = self.links.pop(name, None)
        if link is None:
            return False
        await link.stop()
        return True

    def clear_all(self) -> list[str]:
        """Clear every fault; the links that had one."""
        return [name for name, link in self.links.items() if link.faults.clear()]
