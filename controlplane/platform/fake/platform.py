"""`FakePlatform`: a cluster kept in memory (and in one JSON file of the workspace), for tests.

Every call reads the record under its lock, applies what time has done (lifecycle.settle),
acts, and writes it back; a call that raises changes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from controlplane.errors import (
    ClusterNotRunning,
    InvalidInput,
    PlatformError,
    Refused,
    UnknownTarget,
    Unsupported,
)
from controlplane.platform.base import ClusterInfo, DeathCheck, DownReport, InstanceInfo, Platform
from controlplane.platform.fake.admin import answer
from controlplane.platform.fake.controls import (
    FakeLinks,
    FakeNetwork,
    FakeResources,
    FakeServiceFaults,
    known,
)
from controlplane.platform.fake.lifecycle import (
    SIGKILL_EXIT,
    SIGTERM_EXIT,
    begin_life,
    component_info,
    end_life,
    exit_with,
    incarnation_of,
    instance_info,
    settle,
    topology_of,
)
from controlplane.platform.fake.record import FakeCluster, FakeInstance, Record
from controlplane.topology import LedgerSettings, Topology, parse_topology, start_order
from controlplane.workspace import Workspace

__all__ = ["FakePlatform"]

SCALABLE = ("gateway", "marketdata", "matcher")     # as on the local platform
OPTIONS = {"backoff_s": 0.0, "ready_after_s": 0.0, "disk_mb": 10_240.0}
IGNORED_OPTIONS = ("all_auto_ports",)               # the local platform's; no ports here
NO_DATABASE = "the fake runs no PostgreSQL; tests that read the ledger need the local platform"


class FakePlatform(Platform):
    """The contract kept in memory. Besides it, tests may inject what the API does not cause:
    `crash` (an exit of its own), `promote` (a ledger failover), `acknowledge` (an order a
    gateway acknowledged, for its journal)."""

    name = "fake"

    def __init__(self, workspace: Workspace | Path | str) -> None:
        super().__init__(workspace if isinstance(workspace, Workspace) else Workspace(workspace))
        self.record = Record(self.workspace.root)
        self.clock: Callable[[], float] = time.time   # tests may set it, to move time on

    @contextmanager
    def _cluster(self, require_up: bool = True) -> Iterator[FakeCluster]:
        """The record, locked and brought up to now; written back unless the body raised."""
        with self.record.locked():
            cluster = self.record.read()
            if cluster is None or (require_up and not cluster.up):
                raise ClusterNotRunning(f"no fake cluster is running in {self.workspace.root}; "
                                        "start one with `up`")
            if cluster.up:
                settle(cluster, self.clock())
            yield cluster
            self.record.write(cluster)

    @staticmethod
    def _instance(cluster: FakeCluster, instance_id: str) -> FakeInstance:
        known(cluster, [instance_id])
        return cluster.instances[instance_id]

    # lifecycle --------------------------------------------------------------------------
    def up(self, topology: Topology, *, timeout: float = 300.0,
           progress: Callable[[ClusterInfo], None] | None = None,
           **options: Any) -> ClusterInfo:
        """Every instance running and ready at once. Options: `backoff_s` (before a restart),
        `ready_after_s` (from a start to ready), `disk_mb` (each data volume's size)."""
        settings = _options(options)
        with self.record.locked():
            old = self.record.read()
            if old is not None and old.up:
                raise PlatformError(f"a cluster is already running in {self.workspace.root}; "
                                    "stop it with `down`")
            if old is not None and _differs(old, topology):
                raise InvalidInput("this workspace holds a fake cluster started from a "
                                   "different topology", source=str(self.record.path),
                                   fix="Call down(purge=True) first, or use another workspace")
            self.record.write(_build(topology, settings, self.clock()))
        info = self.info()
        if progress is not None:
            progress(info)
        return info

    def down(self, *, purge: bool = False, timeout: float = 90.0) -> DownReport:
        """Stop every instance and drop every fault; `purge` also forgets the cluster."""
        with self.record.locked():
            cluster = self.record.read()
            if cluster is None:
                return DownReport(stopped=False)
            was_up = cluster.up
            if purge:
                self.record.delete()
            else:
                _stop_all(cluster)
                self.record.write(cluster)
        return DownReport(stopped=was_up)

    def is_up(self) -> bool:
        with self.record.locked():
            cluster = self.record.read()
        return cluster is not None and cluster.up

    def topology(self) -> Topology:
        with self._cluster(require_up=False) as cluster:
            return topology_of(cluster)

    def ledger_dsn(self) -> str:
        raise Unsupported(self.name, "a ledger database", NO_DATABASE)

    def ledger_admin_dsn(self, instance_id: str) -> str:
        with self._cluster() as cluster:
            nodes = sorted(i.id for i in cluster.instances.values() if i.kind == "ledger")
        if instance_id not in nodes:
            raise UnknownTarget("ledger node", instance_id, nodes)
        raise Unsupported(self.name, "a ledger node's database", NO_DATABASE)

    def admin_request(self, instance_id: str, method: str, path: str,
                      body: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        with self._cluster() as cluster:
            self._instance(cluster, instance_id)
            return answer(cluster, instance_id, method, path, body, self.clock())

    def info(self) -> ClusterInfo:
        now = self.clock()
        with self._cluster() as cluster:
            topology = topology_of(cluster)
            return ClusterInfo(
                name=topology.name, platform=self.name, phase="ready", detail="",
                components=[component_info(cluster, topology, n, now)
                            for n in topology.services],
                instances=[instance_info(cluster, i, now) for i in cluster.instances.values()])

    # instances --------------------------------------------------------------------------
    def _act(self, instance_id: str, act: Callable[[FakeCluster, FakeInstance, float], None]
             ) -> InstanceInfo:
        now = self.clock()
        with self._cluster() as cluster:
            inst = self._instance(cluster, instance_id)
            act(cluster, inst, now)
            return instance_info(cluster, inst, now)

    def stop(self, instance_id: str) -> InstanceInfo:
        def stop(cluster: FakeCluster, inst: FakeInstance, now: float) -> None:
            end_life(cluster, inst, "stopped", SIGTERM_EXIT if inst.running else inst.exit_code)
        return self._act(instance_id, stop)

    def start(self, instance_id: str) -> InstanceInfo:
        def start(cluster: FakeCluster, inst: FakeInstance, now: float) -> None:
            if inst.running:
                raise Refused(f"{inst.id} is already running (fake/{inst.id}); stop it first, "
                              "or use kill to crash it")
            begin_life(cluster, inst, now)
        return self._act(instance_id, start)

    def kill(self, instance_id: str, *, graceful: bool = False) -> InstanceInfo:
        """SIGKILL (or SIGTERM: `graceful`), which the process does not survive."""
        return self.crash(instance_id, SIGTERM_EXIT if graceful else SIGKILL_EXIT)

    def crash(self, instance_id: str, exit_code: int = 1) -> InstanceInfo:
        """For tests: the instance exits by itself with `exit_code` (0: a clean exit, which
        `restart: on-failure` does not restart); its restart policy applies."""
        def crash(cluster: FakeCluster, inst: FakeInstance, now: float) -> None:
            if not inst.running:
                raise Refused(f"{inst.id} is not running (state {inst.state}); nothing to kill")
            exit_with(cluster, inst, exit_code, now)
        return self._act(instance_id, crash)

    def freeze(self, instance_id: str) -> InstanceInfo:
        def freeze(cluster: FakeCluster, inst: FakeInstance, now: float) -> None:
            if not inst.running:
                raise Refused(f"{inst.id} is not running (state {inst.state}); cannot pause")
            inst.paused = True
        return self._act(instance_id, freeze)

    def thaw(self, instance_id: str) -> InstanceInfo:
        def thaw(cluster: FakeCluster, inst: FakeInstance, now: float) -> None:
            inst.paused = False
        return self._act(instance_id, thaw)

    def fence(self, instance_id: str) -> InstanceInfo:
        """SIGKILL, frozen or not, and it stays down whatever its restart policy, until
        `start` (the fake has no process that could outlive it)."""
        def fence(cluster: FakeCluster, inst: FakeInstance, now: float) -> None:
            inst.paused = False
            if inst.running:
                end_life(cluster, inst, "stopped", SIGKILL_EXIT)
        return self._act(instance_id, fence)

    def confirm_dead(self, instance_id: str, incarnation: str = "") -> DeathCheck:
        """Dead when no life of it runs; of `incarnation`, when that life is over."""
        with self._cluster(require_up=False) as cluster:
            inst = self._instance(cluster, instance_id)
            current = incarnation_of(cluster, inst) if cluster.up else ""
        if incarnation:
            if current == incarnation:
                return DeathCheck(False, f"{instance_id} ({incarnation}) runs")
            return DeathCheck(True, f"that life of {instance_id} ({incarnation}) is over")
        if current:
            return DeathCheck(False, f"{instance_id} still runs ({current})")
        return DeathCheck(True, f"nothing of {instance_id} runs")

    def scale(self, component: str) -> InstanceInfo:
        now = self.clock()
        with self._cluster() as cluster:
            self._scalable(cluster, component)
            index = 1 + max(i.index for i in cluster.instances.values()
                            if i.component == component)
            inst = FakeInstance(f"{component}-{index}", component,
                                topology_of(cluster).services[component].kind, index)
            cluster.instances[inst.id] = inst
            begin_life(cluster, inst, now)
            _report(cluster, inst, "out", now)
            return instance_info(cluster, inst, now)

    def scale_in(self, component: str) -> InstanceInfo:
        now = self.clock()
        with self._cluster() as cluster:
            self._scalable(cluster, component)
            group = sorted((i for i in cluster.instances.values() if i.component == component),
                           key=lambda i: i.index)
            if len(group) <= 1:
                raise Refused(f"{component} runs {len(group)} instance; it cannot scale in "
                              "below 1")
            inst = group[-1]
            end_life(cluster, inst, "stopped", SIGTERM_EXIT if inst.running else inst.exit_code)
            _forget(cluster, inst.id)
            _report(cluster, inst, "in", now)
            return instance_info(cluster, inst, now)

    @staticmethod
    def _scalable(cluster: FakeCluster, component: str) -> None:
        services = topology_of(cluster).services
        if component not in services:
            raise UnknownTarget("component", component, sorted(services))
        kind = services[component].kind
        if kind not in SCALABLE:
            raise Unsupported("fake", f"scaling {kind}", f"scale {', '.join(SCALABLE)}")

    def scale_reports(self) -> list[dict[str, Any]]:
        """Every scale operation, oldest first, as the local platform reports them."""
        with self._cluster() as cluster:
            return [dict(r) for r in cluster.scale_reports]

    # injected events --------------------------------------------------------------------
    def promote(self, instance_id: str) -> InstanceInfo:
        """For tests: a ledger failover (what Patroni would do); `instance_id` becomes the
        primary, the old primary takes its former role."""
        def promote(cluster: FakeCluster, inst: FakeInstance, now: float) -> None:
            if inst.kind != "ledger" or not inst.running or inst.paused:
                raise Refused(f"{inst.id} is not a running ledger node; it cannot be promoted")
            for other in cluster.instances.values():
                if other.kind == "ledger" and other.role == "primary":
                    other.role = inst.role
            inst.role = "primary"
        return self._act(instance_id, promote)

    def acknowledge(self, gateway: str, order_id: str, at: float | None = None) -> None:
        """For tests: `gateway` acknowledged `order_id` (its journal, GET /admin/acks)."""
        def ack(cluster: FakeCluster, inst: FakeInstance, now: float) -> None:
            if inst.kind != "gateway" or not inst.running:
                raise Refused(f"{inst.id} is not a running gateway; it acknowledges nothing")
            journal = cluster.journals.setdefault(inst.id, [])
            journal.append({"order_id": order_id, "seq": len(journal) + 1,
                            "at": now if at is None else at})
        self._act(gateway, ack)

    # controls ---------------------------------------------------------------------------
    def network(self) -> FakeNetwork:
        return FakeNetwork(self._cluster)

    def resources(self) -> FakeResources:
        return FakeResources(self._cluster)

    def links(self) -> FakeLinks:
        return FakeLinks(self._cluster, self.clock)

    def service_faults(self) -> FakeServiceFaults:
        return FakeServiceFaults(self._cluster, self.clock)


def _options(given: dict[str, Any]) -> dict[str, float]:
    unknown = sorted(set(given) - set(OPTIONS) - set(IGNORED_OPTIONS))
    if unknown:
        raise InvalidInput("the fake platform takes no such option", field=unknown[0],
                           fix=f"Use: {', '.join(OPTIONS)}")
    settings = {**OPTIONS, **{k: float(v) for k, v in given.items() if k in OPTIONS}}
    for key, value in settings.items():
        if value < 0:
            raise InvalidInput("must not be negative", field=key, value=value)
    return settings


def _differs(old: FakeCluster, topology: Topology) -> bool:
    before = parse_topology(old.topology, "the fake cluster's record").effective()
    return before.model_dump(mode="json") != topology.effective().model_dump(mode="json")


def _fake_role(settings: LedgerSettings, index: int) -> str:
    if index == 0:
        return "primary"
    synced = settings.synchronous_mode == "quorum" or index <= settings.synchronous_node_count
    return "sync_standby" if synced else "standby"


def _build(topology: Topology, settings: dict[str, float], now: float) -> FakeCluster:
    """Every instance of the topology running and ready; ledger-0 the primary, the next
    `synchronous_node_count` nodes its synchronous standbys (every standby under quorum
    commit, as Patroni lists them all), any further ledger node an asynchronous standby."""
    cluster = FakeCluster(topology=topology.model_dump(mode="json"), run=uuid.uuid4().hex[:8],
                          options=settings)
    effective = topology.effective()
    for name in start_order(effective):
        svc = effective.services[name]
        for index, inst_id in enumerate(effective.instance_ids(name)):
            inst = FakeInstance(inst_id, name, svc.kind, index)
            if svc.kind == "ledger":
                inst.role = _fake_role(svc.typed_settings(), index)
            cluster.instances[inst_id] = inst
            begin_life(cluster, inst, now)
            inst.state, inst.due = "running", None      # `up` returns once all are ready
    return cluster


def _stop_all(cluster: FakeCluster) -> None:
    for inst in cluster.instances.values():
        end_life(cluster, inst, "stopped", SIGTERM_EXIT if inst.running else inst.exit_code)
    cluster.up = False
    for faults in (cluster.network, cluster.cpu, cluster.helpers, cluster.disk, cluster.links,
                   cluster.service_faults):
        faults.clear()


def _forget(cluster: FakeCluster, instance_id: str) -> None:
    """Drop a scaled-in instance and what the platform held for it."""
    del cluster.instances[instance_id]
    cluster.cpu.pop(instance_id, None)
    for fills in cluster.disk.values():
        fills.pop(instance_id, None)
    for name in [n for n in cluster.links if instance_id in n.split("->")]:
        del cluster.links[name]


def _report(cluster: FakeCluster, inst: FakeInstance, direction: str, now: float) -> None:
    """A report shaped like the local supervisor's (no epoch: the fake moves no shards)."""
    ready_at = (inst.due or now) if direction == "out" else None
    what = "started" if direction == "out" else "stopped and forgotten"
    cluster.scale_reports.append({
        "component": inst.component, "instance": inst.id, "direction": direction,
        "epoch": None, "started": now, "ready_at": ready_at, "switched_at": ready_at,
        "error": "", "steps": [{"at": now, "after_s": 0.0, "what": what}]})
