"""Scaling the matcher at run time: new shard maps, pushed in an order that loses no order.

Scale out (K -> K+1 matchers), under a new epoch E:
  1. the new instance gets its ports and its mesh links (gateway-0->matcher-K, ...), then
     starts with the map (E, K+1): it claims its symbols in the ledger (fencing their old
     owner) and loads their books; we wait for its /readyz;
  2. every other matcher gets (E, K+1): it drops the symbols it lost and claims and loads
     the ones it gained before it answers;
  3. every gateway gets (E, K+1) and its matcher URLs: from now on it routes by the new map.
Until step 3 an order for a moved symbol reaches its old owner, which refuses it with a
retryable 421 (not owned, nothing committed); the gateway sends it again, with the same
order id, to the owner its map names then. The ledger's ownership rows make sure two
matchers never both commit on one symbol (testbed/matcher/ownership.py).

Scale in (K -> K-1), under a new epoch: the remaining matchers, then the gateways, get
(E, K-1); the leaving matcher is drained (its in-flight requests finish or are fenced), then
stopped and forgotten (ports, mesh links, Prometheus targets). Never below one instance.

Each instance's config.json is rewritten with the map in force, so a restart keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from controlplane.errors import PlatformError, Refused
from controlplane.platform.local.kinds import KINDS
from controlplane.platform.local.kinds.faultproxy import link_config
from controlplane.platform.local.shardmap import bump_epoch
from controlplane.topology import MESH_EDGES, MESH_SERVICE, free_port

if TYPE_CHECKING:
    from controlplane.platform.local.managed import Managed
    from controlplane.platform.local.supervisor import Supervisor

__all__ = ["Resharding", "ScaleReport"]

log = logging.getLogger("controlplane.supervisor")
READY_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 10.0
PUSH_TIMEOUT_S = 15.0


@dataclass
class ScaleReport:
    """What a scale operation did, step by step (seconds since it started)."""

    component: str
    instance: str
    direction: str
    epoch: int | None = None
    steps: list[tuple[float, str]] = field(default_factory=list)     # (wall-clock time, what)
    started: float = field(default_factory=time.time)
    ready_at: float | None = None         # scale out: the new instance answered /readyz
    switched_at: float | None = None      # every gateway routes by the new map
    error: str = ""

    def step(self, what: str) -> None:
        self.steps.append((time.time(), what))
        log.info("scale %s %s %s: %s", self.direction, self.component, self.instance, what)

    def as_dict(self) -> dict[str, Any]:
        return {"component": self.component, "instance": self.instance,
                "direction": self.direction, "epoch": self.epoch, "started": self.started,
                "ready_at": self.ready_at, "switched_at": self.switched_at,
                "error": self.error,
                "steps": [{"at": at, "after_s": round(at - self.started, 3), "what": what}
                          for at, what in self.steps]}


class Resharding:
    def __init__(self, sup: Supervisor) -> None:
        self.sup = sup
        self.ctx = sup.ctx
        self.lock = asyncio.Lock()

    # helpers -----------------------------------------------------------------------------
    def _report(self, report: ScaleReport) -> ScaleReport:
        self.sup.scale_reports = [*self.sup.scale_reports[-19:], report]
        return report

    def _of_kind(self, kind: str) -> list[str]:
        if not self.ctx.topology.has_kind(kind):
            return []
        return [i for i in self.ctx.instances_of(kind) if i in self.sup.instances]

    def _mesh(self) -> dict[str, int] | None:
        return self.ctx.ports.get(f"{MESH_SERVICE}-0")

    async def _session_call(self, method: str, url: str, body: Any = None,
                            token: str | None = None, seconds: float = PUSH_TIMEOUT_S) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as s, \
                    s.request(method, url, json=body, headers=headers) as resp:
                data = await resp.json(content_type=None)
                if resp.status >= 300:
                    raise PlatformError(f"{method} {url} answered {resp.status}: {data}")
                return data
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
            raise PlatformError(f"{method} {url}: {type(err).__name__}: {err}") from err

    def _admin(self, inst: str) -> tuple[str, str]:
        url = self.sup.instances[inst].spec.endpoints["http"]
        return url + "/admin/shardmap", self.ctx.secrets["admin"]

    # mesh links ---------------------------------------------------------------------------
    def _links_for(self, matcher: str) -> list[str]:
        """The links a (new) matcher instance needs: from every meshed gateway, and its own
        to the ledger proxy and market data."""
        mesh = self._mesh()
        if mesh is None:
            return []
        first = self.ctx.instances_of("matcher")[0]
        links = [f"{g}->{matcher}" for g in self._of_kind("gateway") if f"{g}->{first}" in mesh]
        for server_kind, _ in MESH_EDGES["matcher"]:
            if self.ctx.topology.has_kind(server_kind):
                server = self.ctx.first(server_kind)
                if f"{first}->{server}" in mesh:
                    links.append(f"{matcher}->{server}")
        return links

    async def _add_links(self, names: list[str]) -> None:
        mesh = self._mesh()
        if mesh is None or not names:
            return
        taken = {p for ports in self.ctx.ports.values() for p in ports.values()}
        for name in names:
            mesh.setdefault(name, free_port(taken))
            await self._session_call("PUT", f"{self.ctx.url(f'{MESH_SERVICE}-0', 'admin')}"
                                     f"/v1/links/{name}", link_config(self.ctx, name),
                                     token=self.ctx.secrets["admin"])
        self._rewrite(f"{MESH_SERVICE}-0")

    async def _remove_links(self, instance: str) -> None:
        mesh = self._mesh()
        if mesh is None:
            return
        gone = [n for n in mesh if "->" in n and instance in n.split("->")]
        for name in gone:
            await self._session_call("DELETE", f"{self.ctx.url(f'{MESH_SERVICE}-0', 'admin')}"
                                     f"/v1/links/{name}", token=self.ctx.secrets["admin"])
            del mesh[name]
        if gone:
            self._rewrite(f"{MESH_SERVICE}-0")

    def _rewrite(self, inst: str) -> None:
        """Rebuild an instance's spec (and config file) from the current ports and epoch, so
        a restart uses the layout in force."""
        m = self.sup.instances.get(inst)
        if m is None:
            return
        name, index = inst.rsplit("-", 1)
        svc = self.ctx.topology.services[name]
        m.spec = KINDS[svc.kind].build(self.ctx, name, svc, int(index))

    # the map switch -------------------------------------------------------------------------
    async def _switch(self, epoch: int, report: ScaleReport, skip: str = "") -> None:
        """Every matcher, then every gateway, on the map (epoch, current matchers). Config files
        first, so an instance that restarts meanwhile (or is down now) starts on it."""
        matchers = self.ctx.instances_of("matcher")
        shards = len(matchers)
        for inst in [*matchers, *self._of_kind("gateway")]:
            self._rewrite(inst)
        for inst in matchers:
            if inst == skip:
                continue
            view = await self._push(inst, {"epoch": epoch, "shards": shards})
            if view is None:
                report.step(f"{inst} is down; it starts on epoch {epoch}")
            elif not view.get("loaded"):
                raise PlatformError(f"{inst} took shard map epoch {epoch} but did not load its "
                                    f"books: {view.get('problem') or 'unknown reason'}")
            else:
                report.step(f"{inst} on epoch {epoch}: owns "
                            f"{', '.join(view['owned']) or 'nothing'}")
        for gw in self._of_kind("gateway"):
            urls = [f"http://{self.ctx.via(gw, m, 'http')}" for m in matchers]
            view = await self._push(gw, {"epoch": epoch, "shards": shards, "matchers": urls})
            report.step(f"{gw} routes by epoch {epoch} ({shards} shards)" if view is not None
                        else f"{gw} is down; it starts on epoch {epoch}")

    async def _push(self, inst: str, body: dict[str, Any]) -> Any:
        """PUT the map to a running instance; None when the instance is not running (its
        config file has the map already)."""
        url, token = self._admin(inst)
        try:
            return await self._session_call("PUT", url, body, token)
        except PlatformError as err:
            if self.sup.instances[inst].pid:
                raise
            log.warning("%s is down; it takes epoch %s at restart: %s", inst, body["epoch"], err)
            return None

    async def _wait_ready(self, m: Managed, wait_s: float = READY_TIMEOUT_S) -> None:
        url = m.spec.endpoints["http"] + "/readyz"
        deadline = time.monotonic() + wait_s
        last = "not started"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session:
            while time.monotonic() < deadline:
                if m.state in ("crashed", "exited", "failed", "backoff"):
                    raise PlatformError(f"{m.id} {m.state} before it was ready; see "
                                        f"{self.ctx.state.log(m.id)}")
                try:
                    async with session.get(url) as resp:
                        if resp.status == 200:
                            return
                        last = (await resp.text())[:200]
                except (aiohttp.ClientError, OSError, TimeoutError) as err:
                    last = type(err).__name__
                await asyncio.sleep(0.05)
        raise PlatformError(f"{m.id} not ready within {wait_s:.0f} s ({last}); see "
                            f"{self.ctx.state.log(m.id)}")

    # scale out ----------------------------------------------------------------------------
    async def scale_out(self, component: str) -> tuple[Managed, ScaleReport]:
        async with self.lock:
            current = self.ctx.instances_of("matcher")
            index = 1 + max(int(i.rsplit("-", 1)[1]) for i in current)
            inst = f"{component}-{index}"
            report = self._report(ScaleReport(component, inst, "out"))
            report.epoch = epoch = bump_epoch(self.ctx.state.root)
            taken = {p for ports in self.ctx.ports.values() for p in ports.values()}
            svc = self.ctx.topology.services[component]
            self.ctx.ports[inst] = {p: free_port(taken) for p in svc.port_names()}
            await self._add_links(self._links_for(inst))
            m = self.sup.launch(component, index)
            self.sup.publish_targets(component)
            report.step(f"started {inst} with shard map epoch {epoch} ({len(current) + 1} "
                        "shards)")
            try:
                await self._wait_ready(m)
                report.ready_at = time.time()
                report.step(f"{inst} ready: its books are claimed and loaded")
                await self._switch(epoch, report, skip=inst)
                report.switched_at = time.time()
            except PlatformError as err:
                report.error = str(err)
                await self._undo_out(m, report)
                raise
            report.step("done")
            return m, report

    async def _undo_out(self, m: Managed, report: ScaleReport) -> None:
        """The new instance failed: forget it and put the old layout back under a newer
        epoch (it may have claimed symbols already)."""
        report.step(f"{m.id} failed; rolling back to {len(self.ctx.instances_of('matcher')) - 1}"
                    " shards")
        self.ctx.ports.pop(m.id, None)
        await self.sup.forget(m.id)
        await self._remove_links(m.id)
        try:
            await self._switch(bump_epoch(self.ctx.state.root), report)
        except PlatformError as err:
            log.error("rollback of the failed scale-out did not complete: %s", err)

    # scale in -----------------------------------------------------------------------------
    async def scale_in(self, component: str) -> tuple[Managed, ScaleReport]:
        async with self.lock:
            current = self.ctx.instances_of("matcher")
            if len(current) <= 1:
                raise Refused(f"{component} runs {len(current)} instance; it cannot scale "
                                    "in below 1")
            leaving = current[-1]
            m = self.sup.get(leaving)
            report = self._report(ScaleReport(component, leaving, "in"))
            report.epoch = epoch = bump_epoch(self.ctx.state.root)
            ports = self.ctx.ports.pop(leaving)
            try:
                await self._switch(epoch, report)
                report.switched_at = time.time()
            except PlatformError as err:
                report.error = str(err)
                self.ctx.ports[leaving] = ports
                await self._switch(bump_epoch(self.ctx.state.root), report)
                raise
            await self._drain(m, report)
            await self.sup.forget(leaving)
            await self._remove_links(leaving)
            report.step(f"{leaving} stopped and forgotten")
            return m, report

    async def _drain(self, m: Managed, report: ScaleReport) -> None:
        url, token = self._admin(m.id)
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline and m.pid:
            try:
                view = await self._session_call("GET", url, token=token, seconds=2.0)
            except PlatformError:
                break
            if not view.get("in_flight"):
                report.step(f"{m.id} drained (nothing in flight)")
                return
            await asyncio.sleep(0.05)
        report.step(f"{m.id} drain wait over; stopping it (in-flight requests are fenced)")
