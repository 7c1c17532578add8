"""/metrics, /healthz and /readyz.

/healthz answers 200 whenever the process serves. /readyz answers 200 only when every
readiness check passes, else 503 with the first reason.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from testbed.service.jsonio import json_response

__all__ = ["Readiness", "add_ops_routes"]

# A check returns None when ready, else why not.
Check = Callable[[], str | None]


class Readiness:
    def __init__(self) -> None:
        self._checks: list[Check] = []

    def add(self, check: Check) -> None:
        self._checks.append(check)

    def reason(self) -> str | None:
        """Why the service is not ready, or None when it is."""
        for check in self._checks:
            reason = check()
            if reason is not None:
                return reason
        return None


def add_ops_routes(app: web.Application, registry: CollectorRegistry,
                   readiness: Readiness) -> None:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        reason = readiness.reason()
        if reason is None:
            return json_response({"ready": True})
        return json_response({"ready": False, "reason": reason}, status=503)

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
