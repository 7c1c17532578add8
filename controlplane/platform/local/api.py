"""The supervisor's HTTP API, served on a Unix socket in the state directory."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from controlplane.errors import ControlPlaneError, UnknownTarget, Unsupported
from controlplane.platform.local.supervisor import Supervisor

__all__ = ["make_app"]

ACTIONS = ("stop", "start", "kill", "fence", "pause", "resume")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


def _error(err: ControlPlaneError) -> web.Response:
    body: dict[str, Any] = {"message": str(err), "type": type(err).__name__}
    if isinstance(err, UnknownTarget):
        body.update(kind=err.kind, name=err.name, valid=err.valid)
        return _json({"error": body}, 404)
    if isinstance(err, Unsupported):
        body.update(platform=err.platform, capability=err.capability, hint=err.hint)
    return _json({"error": body}, 409)


def make_app(sup: Supervisor) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/v1/cluster")
    async def cluster(request: web.Request) -> web.Response:
        info = sup.info()
        return _json({"name": info.name, "platform": info.platform, "phase": info.phase,
                      "detail": info.detail,
                      "components": [c.to_dict() for c in info.components],
                      "instances": [i.to_dict() for i in info.instances]})

    @routes.post("/v1/instances/{id}/{action}")
    async def act(request: web.Request) -> web.Response:
        inst, action = request.match_info["id"], request.match_info["action"]
        if action not in ACTIONS:
            return _json({"error": {"message": f"unknown action {action!r}; use one of "
                                    f"{', '.join(ACTIONS)}"}}, 404)
        try:
            if action == "stop":
                info = await sup.stop(inst)
            elif action == "start":
                info = await sup.start(inst)
            elif action == "kill":
                info = sup.kill(inst, request.query.get("signal", "KILL"))
            elif action == "fence":
                info = sup.fence(inst)
            elif action == "pause":
                info = sup.pause(inst)
            else:
                info = sup.resume(inst)
        except ControlPlaneError as err:
            return _error(err)
        return _json(info.to_dict())

    @routes.post("/v1/components/{name}/scale")
    async def scale(request: web.Request) -> web.Response:
        direction = request.query.get("direction", "out")
        if direction not in ("out", "in"):
            return _json({"error": {"message": f"direction must be out or in, got "
                                               f"{direction!r}", "field": "direction"}}, 400)
        try:
            name = request.match_info["name"]
            info = await (sup.scale(name) if direction == "out" else sup.scale_in(name))
        except ControlPlaneError as err:
            return _error(err)
        return _json(info.to_dict())

    @routes.get("/v1/scale-reports")
    async def scale_reports(request: web.Request) -> web.Response:
        return _json({"reports": [r.as_dict() for r in sup.scale_reports]})

    @routes.post("/v1/shutdown")
    async def shutdown(request: web.Request) -> web.Response:
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(sup.shutdown()))
        return _json({"phase": "stopping"}, 202)

    app = web.Application()
    app.add_routes(routes)
    return app
