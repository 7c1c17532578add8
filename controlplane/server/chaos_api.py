"""The chaos API, a door over `controlplane.application.chaos`: the runs of this workspace
(those `controlplane chaos run` started too: they share its store), one run's timeline and
faults, the halt state, and halt and resume.

    GET  /api/v1/chaos/runs?state=running&limit=50
    GET  /api/v1/chaos/runs/{run_id}          404 when no run has the id
    GET  /api/v1/chaos/status
    POST /api/v1/chaos/halt     {"reason": "...", "wait_s": 1.0}   both optional
    POST /api/v1/chaos/resume

A halt answers once every fault it found open is closed and observed gone (200, with `ok`
false if one is not), so its answer is the evidence; it runs in a worker thread (it signals
runners, waits for them and reverts), one halt at a time.

Every route asks for a credential (server/access.py): records:read to read, chaos:halt to halt
(operators), chaos:resume to resume (SREs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from controlplane.application import chaos
from controlplane.application.events import Event
from controlplane.errors import ControlPlaneError, StoreError
from controlplane.platform.base import Platform
from controlplane.server.bodies import EmptyBody, HaltBody, read_body
from controlplane.server.errors import not_found
from controlplane.server.query import query_number
from controlplane.server.record_replies import ChaosRunDetailReply, ChaosRunsReply, reply
from controlplane.server.state import store_of
from controlplane.store import iso
from controlplane.store.chaos import ChaosEvent, ChaosRun
from controlplane.store.models import Fault
from controlplane.workspace import Workspace

__all__ = ["CHAOS", "ChaosDoor", "routes"]

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
KEEPS = "chaos runs"
DEFAULT_REASON = "halted through the control-plane API"


@dataclass
class ChaosDoor:
    """What the chaos routes share: the platform (opened at the first halt; a test may set
    its own) and the lock that lets one halt run at a time."""

    state_dir: Path | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    opened: Platform | None = None

    def platform(self) -> Platform:
        if self.state_dir is None:
            raise _no_state_dir()
        if self.opened is None:
            from controlplane.platform import open_platform

            try:
                self.opened = open_platform(self.state_dir)
            except ControlPlaneError as err:
                raise web.HTTPServiceUnavailable(
                    text=f"cannot open the cluster's platform: {err}") from None
        return self.opened


CHAOS = web.AppKey("chaos", ChaosDoor)


def _no_state_dir() -> StoreError:
    return StoreError("the control plane runs without a state directory; it cannot see or "
                      "halt chaos runs (start it with --state-dir)")



@routes.get("/api/v1/chaos/runs")
async def list_runs(request: web.Request) -> web.Response:
    limit = int(query_number(request, "limit", 50, 1, chaos.MAX_LIMIT, int))
    found = chaos.runs(store_of(request, KEEPS), limit, request.query.get("state") or None)
    return web.json_response(reply(ChaosRunsReply, {"runs": [_run_json(r) for r in found]}))


@routes.get("/api/v1/chaos/runs/{run_id}")
async def get_run(request: web.Request) -> web.Response:
    run_id = request.match_info["run_id"]
    detail = chaos.run_detail(store_of(request, KEEPS), run_id)
    if detail is None:
        return not_found("chaos run", "run_id", run_id)
    return web.json_response(reply(ChaosRunDetailReply, {
        "run": _run_json(detail.run), "events": [_event_json(e) for e in detail.events],
        "faults": [_fault_json(f) for f in detail.faults]}))


@routes.get("/api/v1/chaos/status")
async def get_status(request: web.Request) -> web.Response:
    return web.json_response(chaos.status_of(store_of(request, KEEPS)).to_dict())


@routes.post("/api/v1/chaos/halt")
async def post_halt(request: web.Request) -> web.Response:
    body = await read_body(request, HaltBody)
    given = body.model_fields_set          # a null given is refused, an absent one defaults
    reason, wait_s = chaos.check_halt(body.reason if "reason" in given else DEFAULT_REASON,
                                      body.wait_s if "wait_s" in given
                                      else chaos.DEFAULT_WAIT_S)
    door = request.app[CHAOS]
    platform = door.platform()
    async with door.lock:
        outcome = await asyncio.get_running_loop().run_in_executor(
            None, chaos.halt, platform, reason, wait_s, _log_event)
    return web.json_response(outcome.to_dict())


@routes.post("/api/v1/chaos/resume")
async def post_resume(request: web.Request) -> web.Response:
    await read_body(request, EmptyBody)
    state_dir = request.app[CHAOS].state_dir
    if state_dir is None:
        raise _no_state_dir()
    state = chaos.resume(Workspace(state_dir), _log_event)
    return web.json_response({"halted": state.halted, "halt_reason": state.reason})


def _log_event(event: Event) -> None:
    log.info("chaos %s: %s", event.kind, event.message)


def _run_json(run: ChaosRun) -> dict[str, object]:
    return {**dataclasses.asdict(run), "started_at_iso": iso(run.started_at),
            "ended_at_iso": iso(run.ended_at)}


def _event_json(event: ChaosEvent) -> dict[str, object]:
    return {**dataclasses.asdict(event), "at_iso": iso(event.at)}


def _fault_json(fault: Fault) -> dict[str, object]:
    return {**dataclasses.asdict(fault), "injected_at_iso": iso(fault.injected_at),
            "reverted_at_iso": iso(fault.reverted_at)}
