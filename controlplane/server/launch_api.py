"""Launching long work through the service, a door over `application.launches`: each answers
202 with the launch (its id, command and pid) once the process started; the work records
itself in the store, where the other routes show it, and `GET /api/v1/launches/{id}` says
whether it ended and with which exit code, with the end of its output.

    POST /api/v1/chaos/runs          chaos:run      {"experiments": "fault=process-kill",
                                                     "policy": "production"}
    POST /api/v1/drills              drills:run     {"kind": "ledger-failover"}
    POST /api/v1/load/runs           load:run       {"profile": "smoke"}
    POST /api/v1/runbooks/{name}/runs runbooks:run  {"labels": {...}, "dry_run": false}
    POST /api/v1/chaos/recover       chaos:halt     revert what crashed runs left (at once)
    GET  /api/v1/launches[/{id}]     records:read
"""

from __future__ import annotations

import asyncio
import dataclasses

from aiohttp import web

from controlplane.application import chaos, chaos_approvals, launches
from controlplane.chaos.guardrails import load_policy
from controlplane.errors import Refused, StoreError
from controlplane.server.access import IDENTITY
from controlplane.server.bodies import (
    ChaosRunBody,
    DrillBody,
    EmptyBody,
    LoadRunBody,
    RunbookRunBody,
    read_body,
)
from controlplane.server.chaos_api import CHAOS
from controlplane.server.errors import error_reply, not_found
from controlplane.server.replies import LaunchesReply, LaunchReply
from controlplane.server.state import store_of

__all__ = ["LAUNCHER", "routes"]

routes = web.RouteTableDef()
LAUNCHER = web.AppKey("launcher", launches.Launcher)
LOG_TAIL = 4000


@routes.post("/api/v1/chaos/runs")
async def launch_chaos(request: web.Request) -> web.Response:
    """Under a profile that requires approval, the run is first an approval request by the
    caller, and the launched `chaos run --request N` waits for it (the two-person rule)."""
    body = await read_body(request, ChaosRunBody)
    target = launches.chaos_argv(body.experiments)[2]
    policy_file = launches.chaos_profile(body.policy)
    policy = load_policy(policy_file)
    if not policy.approval.required:
        given = policy_file if body.policy else None
        return _start(request, "chaos", launches.chaos_argv(target, given))
    try:
        _launcher(request).check_room()
    except Refused as err:
        return error_reply(429, str(err))
    asked = chaos_approvals.request_run(store_of(request, "approval requests"), target,
                                        policy_file, policy, request[IDENTITY].name)
    return _start(request, "chaos", launches.chaos_argv(target, policy_file, asked.id),
                  approval=asked.id)


@routes.post("/api/v1/drills")
async def launch_drill(request: web.Request) -> web.Response:
    body = await read_body(request, DrillBody)
    return _start(request, "drill", launches.drill_argv(body.kind))


@routes.post("/api/v1/load/runs")
async def launch_load(request: web.Request) -> web.Response:
    body = await read_body(request, LoadRunBody)
    return _start(request, "load", launches.load_argv(body.profile))


@routes.post("/api/v1/runbooks/{name}/runs")
async def launch_runbook(request: web.Request) -> web.Response:
    body = await read_body(request, RunbookRunBody)
    argv = launches.runbook_argv(request.match_info["name"], body.labels, body.dry_run)
    return _start(request, "runbook", argv)


@routes.post("/api/v1/chaos/recover")
async def recover(request: web.Request) -> web.Response:
    await read_body(request, EmptyBody)
    platform = request.app[CHAOS].platform()
    report = await asyncio.get_running_loop().run_in_executor(None, chaos.recover, platform)
    return web.json_response({
        "reverted": {str(k): dataclasses.asdict(v) for k, v in report.reverted.items()},
        "why": {str(k): v for k, v in report.why.items()}, "aborted": report.aborted,
        "swept": report.swept},
        dumps=_dumps)


@routes.get("/api/v1/launches")
async def list_launches(request: web.Request) -> web.Response:
    found = _launcher(request).launches()
    return web.json_response(LaunchesReply(
        launches=[LaunchReply(**launch.to_dict()) for launch in found]).model_dump())


@routes.get("/api/v1/launches/{launch_id}")
async def get_launch(request: web.Request) -> web.Response:
    launch_id = request.match_info["launch_id"]
    launch = _launcher(request).get(launch_id)
    if launch is None:
        return not_found("launch", "launch_id", launch_id)
    tail = await asyncio.to_thread(_tail, launch.log)
    return web.json_response(LaunchReply(**launch.to_dict(), output_tail=tail).model_dump())


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - LOG_TAIL))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _start(request: web.Request, kind: str, argv: list[str],
           approval: int | None = None) -> web.Response:
    try:
        launch = _launcher(request).start(kind, argv, request[IDENTITY].name, approval)
    except Refused as err:
        return error_reply(429, str(err))
    return web.json_response(LaunchReply(**launch.to_dict()).model_dump(), status=202)


def _launcher(request: web.Request) -> launches.Launcher:
    launcher = request.app.get(LAUNCHER)
    if launcher is None:
        raise StoreError("the control plane runs without a state directory; it launches "
                         "nothing (start it with --state-dir)")
    return launcher


def _dumps(value: object) -> str:
    import json

    return json.dumps(value, default=str)
