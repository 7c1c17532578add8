"""Observing the ledger's high availability: Patroni's roles and HAProxy's routing."""

from __future__ import annotations

import aiohttp

__all__ = ["ROLES", "normalize_role", "parse_haproxy_csv", "routed_to"]

# Patroni 3.0 says "master"; later versions say "primary".
ROLES = {"master": "primary", "primary": "primary", "replica": "standby",
         "standby_leader": "standby_leader"}


def normalize_role(status: dict) -> str:
    """primary / sync_standby / standby from Patroni's GET /patroni answer. A quorum standby
    (Patroni 4's `synchronous_mode: quorum`, which says `quorum_standby`) is a sync_standby
    here: a commit may wait for it, and it is a candidate for promotion."""
    role = ROLES.get(str(status.get("role")), str(status.get("role", "")))
    if role == "standby" and (status.get("sync_standby") or status.get("quorum_standby")):
        return "sync_standby"
    return role


def parse_haproxy_csv(text: str, proxy: str = "primary") -> list[str]:
    """Servers of `proxy` that HAProxy has UP, from its `/stats;csv` page."""
    header, *rows = [line.split(",") for line in text.splitlines() if line]
    col = {name.lstrip("# "): i for i, name in enumerate(header)}
    return [r[col["svname"]] for r in rows
            if r[col["pxname"]] == proxy and r[col["svname"]] not in ("FRONTEND", "BACKEND")
            and r[col["status"]].startswith("UP")]


async def routed_to(session: aiohttp.ClientSession, stats_url: str) -> list[str]:
    """Names of the ledger nodes HAProxy currently sends writes to."""
    async with session.get(stats_url + "/stats;csv") as resp:
        return parse_haproxy_csv(await resp.text())
