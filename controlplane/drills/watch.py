"""Watching a failover from outside: Patroni's view, HAProxy's routing, Prometheus's scrapes."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from controlplane.errors import PrometheusError
from controlplane.observe.ledger import normalize_role, routed_to
from controlplane.observe.prometheus import PrometheusClient

__all__ = ["FailoverWatcher", "first_down_sample", "patroni_role"]


class FailoverWatcher:
    """Polls every Patroni REST API and HAProxy's stats; reports each change once."""

    def __init__(self, patroni_apis: dict[str, str], haproxy_stats: str, old_primary: str):
        self.apis = {k: v for k, v in patroni_apis.items() if k != old_primary}
        self.stats = haproxy_stats
        self.old_primary = old_primary
        self.new_primary: str | None = None
        self.promoted_at: float | None = None
        self.routed_at: float | None = None

    async def poll(self, session: aiohttp.ClientSession) -> list[tuple[str, float, str]]:
        events = []
        if self.promoted_at is None:
            roles = await asyncio.gather(*(patroni_role(session, u) for u in self.apis.values()))
            for node, role in zip(self.apis, roles, strict=True):
                if role == "primary":
                    self.new_primary, self.promoted_at = node, time.time()
                    events.append(("promoted", self.promoted_at,
                                   f"Patroni promoted {node} to primary"))
        if self.routed_at is None:
            try:
                routes = await routed_to(session, self.stats)
            except (aiohttp.ClientError, OSError, TimeoutError, KeyError, ValueError):
                routes = []
            fresh = [r for r in routes if r != self.old_primary]
            if fresh:
                self.routed_at = time.time()
                events.append(("routed", self.routed_at,
                               f"HAProxy routes writes to {fresh[0]}"))
        return events


async def patroni_role(session: aiohttp.ClientSession, api: str) -> str:
    """A node's role from its Patroni REST API; "" when it does not answer."""
    try:
        async with session.get(api + "/patroni") as resp:
            return normalize_role(await resp.json(content_type=None))
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
        return ""


def first_down_sample(prometheus_url: str, job: str, instance_id: str, fault_at: float,
                      wait_s: float = 3.0) -> float | None:
    """When Prometheus first scraped the instance as down after the fault (sample timestamp)."""
    client = PrometheusClient(prometheus_url, timeout=5)
    selector = f'up{{job="{job}",instance_id="{instance_id}"}}'
    deadline = time.time() + wait_s
    while True:
        try:
            series = client.raw_samples(selector, fault_at - 1, time.time())
        except PrometheusError:
            series = []
        for s in series:
            for ts, value in s.points:
                if ts >= fault_at and value == 0:
                    return ts
        if time.time() > deadline:
            return None
        time.sleep(0.5)
