"""The local supervisor: starts the cluster in dependency order, restarts crashed instances by
their policy, probes health, and carries out platform actions (stop, start, kill, pause,
resume, scale). It runs as a daemon per state directory; `LocalPlatform` talks to it over a
Unix socket (see `api.py`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

import aiohttp

from controlplane.errors import PlatformError, Refused, UnknownTarget, Unsupported
from controlplane.host.procs import find_owned, kill_tree
from controlplane.observe.scrape_config import ScrapeTarget, write_targets
from controlplane.platform.base import ClusterInfo, ComponentInfo, Health, InstanceInfo
from controlplane.platform.local.cgroups import Cgroups
from controlplane.platform.local.kinds import KINDS, BuildContext
from controlplane.platform.local.managed import Managed
from controlplane.platform.local.resharding import Resharding, ScaleReport
from controlplane.platform.local.shardmap import bump_epoch
from controlplane.topology import free_port, start_order

__all__ = ["Supervisor"]

log = logging.getLogger("controlplane.supervisor")
PROBE_INTERVAL = 0.5
SCALABLE = ("gateway", "marketdata", "matcher")
PROBE_TIMEOUT = 1.0


class Supervisor:
    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        self.topology = ctx.topology
        self.order = start_order(ctx.topology)
        self.instances: dict[str, Managed] = {}
        self.phase = "starting"
        self.detail = ""
        self.closing = False
        self.stopped = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._runners: dict[str, asyncio.Task] = {}
        self.cgroups = Cgroups(ctx.state.cgroup_name)
        self.resharding = Resharding(self)
        self.scale_reports: list[ScaleReport] = []

    # lifecycle --------------------------------------------------------------------------
    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._spawn_task(self._health_loop(session))
            try:
                epoch = bump_epoch(self.ctx.state.root)   # never reuse an earlier run's epoch
                log.info("matcher shard map epoch %d", epoch)
                await self._start_all()
            except PlatformError as err:
                self.phase, self.detail = "failed", str(err)
                log.error("start failed: %s", err)
            except Exception as err:     # e.g. the ledger bootstrap hook; report, don't die
                self.phase, self.detail = "failed", f"{self.detail}: {err!r}"
                log.exception("start failed")
            await self.stopped.wait()

    async def _start_all(self) -> None:
        for name in self.order:
            svc = self.topology.services[name]
            self.detail = f"starting {name}"
            for index in range(svc.instances):
                self.launch(name, index)
            self.publish_targets(name)
            await self._wait_service_ready(name)
            hook = KINDS[svc.kind].after_ready
            if hook is not None:
                await hook(self.ctx, name, self._primary_of(name))
        self.phase, self.detail = "ready", ""
        log.info("cluster %s is ready", self.topology.name)

    async def shutdown(self) -> None:
        if self.closing:
            return
        self.closing, self.phase = True, "stopping"
        for name in reversed(self.order):
            self.detail = f"stopping {name}"
            group = [m for m in self.instances.values() if m.spec.component == name]
            for m in group:
                m.desired = "stopped"
                m.wake.set()
            await asyncio.gather(*(m.terminate() for m in group))
        leftovers = find_owned(self.ctx.state.roots())
        if leftovers:
            log.warning("sweeping %d leftover processes", len(leftovers))
            await asyncio.to_thread(kill_tree, [p.pid for p in leftovers])
        self.stopped.set()

    def _spawn_task(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # instances --------------------------------------------------------------------------
    def launch(self, name: str, index: int) -> Managed:
        svc = self.topology.services[name]
        spec = KINDS[svc.kind].build(self.ctx, name, svc, index)
        m = Managed(spec=spec, restart=svc.restart, state_dir=self.ctx.state,
                    cgroups=self.cgroups)
        self.instances[spec.instance] = m
        self._runners[spec.instance] = self._spawn_task(self._runner(m))
        return m

    async def forget(self, instance_id: str) -> None:
        """Stop an instance and drop it: no runner, no health probe, no scrape target."""
        m = self.get(instance_id)
        await self.stop(instance_id)
        runner = self._runners.pop(instance_id, None)
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        del self.instances[instance_id]
        self.ctx.ports.pop(instance_id, None)
        self.publish_targets(m.spec.component)

    async def _runner(self, m: Managed) -> None:
        while not self.closing:
            if m.desired != "running":
                await self._sleep_until_woken(m)
                continue
            try:
                await m.spawn()
            except OSError as err:
                m.state, m.desired = "failed", "stopped"
                m.health = Health(False, False, "", f"cannot start: {err}", time.time())
                continue
            rc = await m.proc.wait()
            m.exit_code = rc
            if self.closing or m.desired != "running":
                m.state = "stopped"
                continue
            await self._after_exit(m, rc)

    async def _after_exit(self, m: Managed, rc: int) -> None:
        log.warning("%s exited with %s", m.id, rc)
        m.health = Health(False, False, "", f"exited with {rc}", time.time())
        if m.restart == "never" or (m.restart == "on-failure" and rc == 0):
            m.state = "crashed" if rc != 0 else "exited"
            m.desired = "stopped"
            return
        m.state = "backoff"
        delay = m.backoff()
        m.restarts += 1
        m.wake.clear()
        try:
            await asyncio.wait_for(m.wake.wait(), delay)
        except TimeoutError:
            pass

    @staticmethod
    async def _sleep_until_woken(m: Managed) -> None:
        m.wake.clear()
        await m.wake.wait()

    # health -----------------------------------------------------------------------------
    async def _health_loop(self, session: aiohttp.ClientSession) -> None:
        while not self.stopped.is_set():
            live = [(m, m.pid) for m in self.instances.values() if m.pid]
            results = await asyncio.gather(*(self._probe(session, m) for m, _ in live))
            for (m, pid), health in zip(live, results, strict=True):
                if m.pid == pid:     # not if it died, or was replaced, while we probed
                    m.health = health
                    if m.state == "starting" and health.ready:
                        m.state = "running"
            await asyncio.sleep(PROBE_INTERVAL)

    @staticmethod
    async def _probe(session: aiohttp.ClientSession, m: Managed) -> Health:
        try:
            return await asyncio.wait_for(m.spec.probe(session), PROBE_TIMEOUT + 0.5)
        except TimeoutError:
            return Health(False, False, m.health.role, "probe timed out", time.time())

    def _service_ready(self, name: str) -> bool:
        svc = self.topology.services[name]
        healths = [m.health for m in self.instances.values() if m.spec.component == name]
        check = KINDS[svc.kind].service_ready
        if check is not None:
            return check(healths, svc)
        return bool(healths) and all(h.ready for h in healths)

    async def _wait_service_ready(self, name: str) -> None:
        timeout = KINDS[self.topology.services[name].kind].start_timeout
        deadline = time.monotonic() + timeout
        while not self._service_ready(name):
            if self.closing:
                raise PlatformError("start interrupted by shutdown")
            if time.monotonic() > deadline:
                raise PlatformError(self._not_ready_message(name, timeout))
            await asyncio.sleep(0.2)

    def _not_ready_message(self, name: str, timeout: float) -> str:
        parts = [f"{m.id} [{m.state}] {m.health.detail or 'not ready'} (log: "
                 f"{self.ctx.state.log(m.id)})"
                 for m in self.instances.values() if m.spec.component == name]
        return f"{name} did not become ready within {timeout:.0f} s: " + "; ".join(parts)

    def _primary_of(self, name: str) -> str:
        for m in self.instances.values():
            if m.spec.component == name and m.health.role == "primary":
                return m.id
        return f"{name}-0"

    # prometheus targets -----------------------------------------------------------------
    def publish_targets(self, name: str) -> None:
        svc = self.topology.services[name]
        kind = KINDS[svc.kind]
        if kind.scrape_port is None:
            return
        targets = [ScrapeTarget(name, m.id, self.ctx.addr(m.id, kind.scrape_port), svc.kind,
                                svc.tier, kind.metrics_path)
                   for m in self.instances.values() if m.spec.component == name]
        write_targets(self.ctx.state.targets_dir, name, targets)

    # actions ----------------------------------------------------------------------------
    def info(self) -> ClusterInfo:
        comps = [ComponentInfo(name=n, kind=s.kind, tier=s.tier, restart=s.restart,
                               depends_on=list(s.depends_on),
                               instances=[m.id for m in self.instances.values()
                                          if m.spec.component == n],
                               ready=self._service_ready(n))
                 for n, s in self.topology.services.items()]
        return ClusterInfo(name=self.topology.name, platform="local", phase=self.phase,
                           detail=self.detail, components=comps,
                           instances=[m.info() for m in self.instances.values()])

    def get(self, instance_id: str) -> Managed:
        if instance_id not in self.instances:
            raise UnknownTarget("instance", instance_id, sorted(self.instances))
        return self.instances[instance_id]

    async def stop(self, instance_id: str) -> InstanceInfo:
        m = self.get(instance_id)
        m.desired = "stopped"
        m.wake.set()
        await m.terminate()
        m.state = "stopped"
        return m.info()

    async def start(self, instance_id: str) -> InstanceInfo:
        m = self.get(instance_id)
        if m.pid:
            raise Refused(f"{instance_id} is already running (pid {m.pid}); "
                                "stop it first, or use kill to crash it")
        m.desired = "running"
        m.wake.set()
        for _ in range(50):
            if m.pid:
                break
            await asyncio.sleep(0.02)
        return m.info()

    def kill(self, instance_id: str, sig: str = "KILL") -> InstanceInfo:
        m = self.get(instance_id)
        signum = _signal_named(sig)
        if not m.pid:
            raise Refused(f"{instance_id} is not running (state {m.state}); nothing to kill")
        m.paused = False
        m.send(signum)
        return m.info()

    def fence(self, instance_id: str) -> InstanceInfo:
        """SIGKILL to every process of the instance, frozen ones too (SIGKILL needs no thaw),
        and keep it down whatever its restart policy says, until `start`."""
        m = self.get(instance_id)
        m.desired = "stopped"
        m.wake.set()
        m.paused = False
        m.send(signal.SIGKILL)
        if not m.pid:
            m.state = "stopped"
        return m.info()

    def pause(self, instance_id: str) -> InstanceInfo:
        m = self.get(instance_id)
        if not m.pid:
            raise Refused(f"{instance_id} is not running (state {m.state}); cannot pause")
        m.send(signal.SIGSTOP)
        m.paused = True
        return m.info()

    def resume(self, instance_id: str) -> InstanceInfo:
        m = self.get(instance_id)
        m.send(signal.SIGCONT)
        m.paused = False
        return m.info()

    def _scalable(self, component: str) -> str:
        if component not in self.topology.services:
            raise UnknownTarget("component", component, sorted(self.topology.services))
        kind = self.topology.services[component].kind
        if kind not in SCALABLE:
            raise Unsupported("local", f"scaling {kind}", f"scale {', '.join(SCALABLE)}")
        if self.phase != "ready":
            raise Refused(f"the cluster is {self.phase}; scale it once it is ready")
        return kind

    async def scale(self, component: str) -> InstanceInfo:
        """One more instance. The matcher's shards are rebalanced (resharding.py)."""
        if self._scalable(component) == "matcher":
            m, _ = await self.resharding.scale_out(component)
            return m.info()
        svc = self.topology.services[component]
        taken = {p for ports in self.ctx.ports.values() for p in ports.values()}
        index = 1 + max(int(m.id.rsplit("-", 1)[1]) for m in self.instances.values()
                        if m.spec.component == component)
        inst = f"{component}-{index}"
        self.ctx.ports[inst] = {p: free_port(taken) for p in svc.port_names()}
        m = self.launch(component, index)
        self.publish_targets(component)
        return m.info()

    async def scale_in(self, component: str) -> InstanceInfo:
        """One instance fewer: the highest-numbered one, never the last one. A matcher's
        symbols move to the others first, and it is drained before it stops."""
        if self._scalable(component) == "matcher":
            m, _ = await self.resharding.scale_in(component)
            return m.info()
        ids = sorted((m.id for m in self.instances.values() if m.spec.component == component),
                     key=lambda i: int(i.rsplit("-", 1)[1]))
        if len(ids) <= 1:
            raise Refused(f"{component} runs {len(ids)} instance; it cannot scale in "
                                "below 1")
        m = self.get(ids[-1])
        await self.forget(m.id)
        return m.info()



def _signal_named(name: str) -> int:
    try:
        return int(signal.Signals[f"SIG{name.upper().removeprefix('SIG')}"])
    except KeyError:
        raise PlatformError(f"unknown signal {name!r}; use KILL, TERM, INT, QUIT or HUP") from None
