"""`KubernetesPlatform`: the platform contract over the Kubernetes API (see the package's
docstring for what each action means on Kubernetes, and what it cannot do)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from controlplane.errors import (
    ClusterNotRunning,
    InvalidInput,
    PlatformError,
    Refused,
    UnknownTarget,
    Unsupported,
)
from controlplane.platform.base import (
    ClusterInfo,
    DeathCheck,
    DownReport,
    InstanceInfo,
    Platform,
)
from controlplane.platform.kubernetes import view
from controlplane.platform.kubernetes.admin import admin_token, call_admin
from controlplane.platform.kubernetes.api import CHAOS_GROUP, Kube, Missing
from controlplane.platform.kubernetes.connect import connect, settings_of
from controlplane.platform.kubernetes.controls import (
    KubeLinks,
    KubeNetwork,
    KubeResources,
    KubeServiceFaults,
    Targets,
)
from controlplane.platform.kubernetes.objects import Objects
from controlplane.platform.kubernetes.record import ClusterRecord, RecordFile
from controlplane.platform.kubernetes.view import Seen
from controlplane.platform.kubernetes.workloads import (
    Pod,
    Workload,
    instance_info,
    workloads,
)
from controlplane.topology import Topology, parse_topology
from controlplane.workspace import Workspace

__all__ = ["KubernetesPlatform"]

NAME = "kubernetes"
SCALABLE = ("gateway", "marketdata")
SERVICE_KINDS = ("gateway", "matcher", "marketdata")
IGNORED_OPTIONS = {"all_auto_ports"}      # the charts set the ports


class KubernetesPlatform(Platform):
    name = NAME
    reaped_by_service = True        # no supervisor here: the service runs the fault reaper

    def __init__(self, workspace: Workspace, clock: Callable[[], float] = time.time,
                 poll_s: float = 0.5, settle_s: float = 60.0) -> None:
        super().__init__(workspace)
        self._file = RecordFile(workspace.root)
        self._kube: Kube | None = None
        self.clock, self.poll_s, self.settle_s = clock, poll_s, settle_s

    # the record and the connection --------------------------------------------------------
    def _record(self) -> ClusterRecord:
        record = self._file.read()
        if record is None or not record.up:
            raise ClusterNotRunning(f"no Kubernetes cluster is up for {self.workspace.root}; "
                                    "run `controlplane cluster up` with its topology")
        return record

    def topology(self) -> Topology:
        return parse_topology(self._record().topology, str(self._file.path))

    def kube(self, topology: Topology | None = None) -> Kube:
        if self._kube is None:
            self._kube = connect(topology or self.topology())
        return self._kube

    def close(self) -> None:
        if self._kube is not None:
            self._kube.close()
            self._kube = None

    def _seen(self, record: ClusterRecord) -> dict[str, Seen]:
        return view.seen(self.kube(), record, parse_topology(record.topology,
                                                             str(self._file.path)))

    # what the cluster is --------------------------------------------------------------------
    def info(self) -> ClusterInfo:
        record = self._record()
        topology = parse_topology(record.topology, str(self._file.path))
        instances = view.infos(self.kube(), record, self._seen(record))
        components = [view.component_info(topology, n, instances) for n in topology.services]
        ready = all(c.ready for c in components)
        return ClusterInfo(topology.name, NAME, "ready" if ready else "starting",
                           "" if ready else "not every instance is ready", components,
                           instances)

    def is_up(self) -> bool:
        record = self._file.read()
        return record is not None and record.up

    def _target(self, instance_id: str) -> tuple[ClusterRecord, Seen, int, InstanceInfo]:
        """The instance's component as seen now, its index and its info; `UnknownTarget`."""
        record = self._record()
        seen = self._seen(record)
        infos = {i.id: i for i in view.infos(self.kube(), record, seen)}
        if instance_id not in infos:
            raise UnknownTarget("instance", instance_id, sorted(infos))
        component, index = instance_id.rsplit("-", 1)
        return record, seen[component], int(index), infos[instance_id]

    def _now(self, instance_id: str) -> InstanceInfo:
        return self._target(instance_id)[3]

    def _settle(self, done: Callable[[], bool]) -> bool:
        """Wait (at most `settle_s`) until `done()`; whether it got there."""
        deadline = time.monotonic() + self.settle_s
        while not done():
            if time.monotonic() >= deadline:
                return False
            time.sleep(self.poll_s)
        return True

    # lifecycle -----------------------------------------------------------------------------
    def up(self, topology: Topology, *, timeout: float = 300.0,
           progress: Callable[[ClusterInfo], None] | None = None,
           **options: Any) -> ClusterInfo:
        """Scale every component's workload to the topology's instances, record the cluster
        and wait until every instance is running and ready. The charts must be installed."""
        unknown = sorted(set(options) - IGNORED_OPTIONS)
        if unknown:
            raise InvalidInput("the kubernetes platform takes no such option",
                               field=unknown[0], fix="Remove it")
        self.close()
        self.kube(topology)
        for name, workload in self._workloads(topology).items():
            if view.replicas(self.kube(), workload) != topology.services[name].instances:
                self.kube().scale(workload.kind, workload.name, topology.services[name].instances)
        with self._file.edit():
            self._file.write(ClusterRecord(topology.model_dump(mode="json"),
                                           counts={n: s.instances
                                                   for n, s in topology.services.items()}))
        return self._await_ready(timeout, progress)

    def _await_ready(self, timeout: float, progress: Callable[[ClusterInfo], None] | None
                     ) -> ClusterInfo:
        deadline = time.monotonic() + timeout
        while True:
            info = self.info()
            if progress is not None:
                progress(info)
            if info.phase == "ready":
                return info
            if time.monotonic() >= deadline:
                late = [i.id for i in info.instances if not i.health.ready]
                raise PlatformError(f"not ready after {timeout:g} s: {', '.join(late)}; see "
                                    "`kubectl get pods` and the pods' events")
            time.sleep(self.poll_s)

    def down(self, *, purge: bool = False, timeout: float = 90.0) -> DownReport:
        """Delete every object the platform made for this cluster and scale every workload to
        0 (the release, its Services and volumes stay; `up` scales them back). `purge` also
        forgets the record; the volumes stay (delete them with the release)."""
        record = self._file.read()
        if record is None or not record.up:
            if purge:
                self._file.path.unlink(missing_ok=True)
            return DownReport(stopped=False)
        topology = self.topology()
        swept = [o.handle for o in self._objects(topology).tagged() if self._delete(o)]
        for workload in self._workloads(topology).values():
            self.kube().scale(workload.kind, workload.name, 0)
        with self._file.edit() as now:
            if now is not None:
                now.up = False
        if purge:
            self._file.path.unlink(missing_ok=True)
        self.close()
        return DownReport(stopped=True, swept=swept)

    @staticmethod
    def _workloads(topology: Topology) -> dict[str, Workload]:
        return workloads(topology, settings_of(topology))

    def _delete(self, obj: Any) -> bool:
        return self.kube().delete(obj.group, obj.plural, obj.name)

    def ledger_dsn(self) -> str:
        raise Unsupported(NAME, "a ledger DSN", "the ledger's Service is reachable from inside "
                          "the cluster only; connect there through the primary's Service")

    def ledger_admin_dsn(self, instance_id: str) -> str:
        raise Unsupported(NAME, "a ledger node's DSN", "not built for pods")

    # instances -----------------------------------------------------------------------------
    def kill(self, instance_id: str, *, graceful: bool = False) -> InstanceInfo:
        """Delete the pod (grace period 0; `graceful`: its own grace period); its workload's
        controller makes a new pod (a new incarnation)."""
        _, seen, index, inst = self._target(instance_id)
        if not inst.running:
            raise Refused(f"{instance_id} is not running (state {inst.state}); nothing to kill")
        self.kube().delete_pod(seen.pods[index].name, None if graceful else 0)
        self._count_replaced(instance_id)
        return self._now(instance_id)

    def _count_replaced(self, instance_id: str) -> None:
        with self._file.edit() as record:
            if record is not None:
                record.replaced[instance_id] = record.replaced.get(instance_id, 0) + 1

    def stop(self, instance_id: str) -> InstanceInfo:
        """Scale the workload down so that this instance's pod goes and stays gone: only the
        highest ordinal of a StatefulSet (replicas = its ordinal), or a Deployment's only pod
        (replicas = 0). `start` scales it back up."""
        _, seen, index, inst = self._target(instance_id)
        if inst.state == "stopped":
            return inst
        self._stoppable(seen, index, instance_id)
        self.kube().scale(seen.workload.kind, seen.workload.name, index)
        self._settle(lambda: self._now(instance_id).state == "stopped")
        return self._now(instance_id)

    @staticmethod
    def _stoppable(seen: Seen, index: int, instance_id: str) -> None:
        w = seen.workload
        if w.kind == "Deployment" and seen.replicas > 1:
            raise Refused(f"{instance_id} is one of {seen.replicas} pods of {w.shown}: its "
                          "ReplicaSet picks which pod a scale-down removes, so one of them "
                          "cannot be stopped; kill it (it comes back) or scale in")
        if w.kind == "StatefulSet" and index != seen.replicas - 1:
            raise Refused(f"{instance_id} is ordinal {index} of {w.shown} with {seen.replicas}"
                          " replicas: only the highest ordinal can be stopped (by scaling the "
                          f"StatefulSet to its ordinal); stop {w.component}-{seen.replicas - 1}"
                          " first, or kill it (it comes back)")

    def start(self, instance_id: str) -> InstanceInfo:
        """Scale the workload back up to include a stopped instance (the next ordinal); a pod
        that ended (crashed, exited) is deleted so that its controller makes a new one."""
        _, seen, index, inst = self._target(instance_id)
        if inst.running or inst.state in ("starting", "backoff"):
            raise Refused(f"{instance_id} is already {inst.state} ({inst.handle or 'no pod'}); "
                          "stop it first, or use kill to crash it")
        if index in seen.pods:
            self.kube().delete_pod(seen.pods[index].name, 0)
        elif index == seen.replicas:
            self.kube().scale(seen.workload.kind, seen.workload.name, index + 1)
        else:
            raise Refused(f"{instance_id} cannot start before "
                          f"{seen.workload.component}-{seen.replicas}: a StatefulSet starts "
                          "its ordinals in order")
        return self._now(instance_id)

    def freeze(self, instance_id: str) -> InstanceInfo:
        self._now(instance_id)
        raise Unsupported(NAME, "freezing an instance", "Chaos Mesh has no action that pauses "
                          "a pod's processes (PodChaos pod-failure replaces the container: a "
                          "crash, not a hang)")

    def thaw(self, instance_id: str) -> InstanceInfo:
        self._now(instance_id)
        raise Unsupported(NAME, "thawing an instance", "freeze is not supported")

    def confirm_dead(self, instance_id: str, incarnation: str = "") -> DeathCheck:
        """From the API server's view only: dead when the pod (of `incarnation`: that pod and
        container life) is gone or its containers terminated. A pod on a node the API server
        lost still shows Running, so it is never confirmed dead (see the package docstring)."""
        _, seen, index, _ = self._target(instance_id)
        if incarnation:
            return self._life_over(seen, instance_id, incarnation)
        pod = seen.pods.get(index)
        if pod is None:
            return DeathCheck(True, f"{instance_id} has no pod")
        if pod.phase in ("Failed", "Succeeded") or not pod.running:
            return DeathCheck(True, f"pod {pod.name} is {pod.phase}, no container runs")
        return DeathCheck(False, f"pod {pod.name} runs ({pod.phase})")

    @staticmethod
    def _life_over(seen: Seen, instance_id: str, incarnation: str) -> DeathCheck:
        uid, _, restarts = incarnation.partition("/")
        pod = next((p for p in seen.pods.values() if p.uid == uid), None)
        if pod is None:
            return DeathCheck(True, f"the pod of {instance_id} ({uid}) is gone")
        if str(pod.restarts) != restarts or not pod.running or pod.phase != "Running":
            return DeathCheck(True, f"that container life of pod {pod.name} ended")
        return DeathCheck(False, f"pod {pod.name} ({incarnation}) runs")

    def fence(self, instance_id: str) -> InstanceInfo:
        """Delete the pod with grace period 0 and wait until the API server has forgotten it.
        This fences only a pod whose node the API server still reaches: on a lost node, the
        container may run on after its pod object is gone."""
        _, seen, index, _ = self._target(instance_id)
        pod = seen.pods.get(index)
        if pod is None:
            return self._now(instance_id)
        self.kube().delete_pod(pod.name, 0)
        self._count_replaced(instance_id)
        if not self._settle(lambda: self._gone(pod)):
            raise PlatformError(f"pod {pod.name} ({pod.uid}) was still there {self.settle_s:g} "
                                "s after its deletion; it is not fenced")
        return self._now(instance_id)

    def _gone(self, pod: Pod) -> bool:
        try:
            return self.kube().pod(pod.name).metadata.uid != pod.uid
        except Missing:
            return True

    # scaling ------------------------------------------------------------------------------
    def _scalable(self, component: str) -> tuple[ClusterRecord, Seen]:
        record = self._record()
        seen = self._seen(record)
        if component not in seen:
            raise UnknownTarget("component", component, sorted(seen))
        kind = seen[component].workload.service_kind
        if kind not in SCALABLE:
            raise Unsupported(NAME, f"scaling {kind}", f"scale {', '.join(SCALABLE)}; the "
                              "matcher's symbols and the ledger's roles do not move here")
        return record, seen[component]

    def scale(self, component: str) -> InstanceInfo:
        """One more replica through the workload's scale subresource."""
        _, seen = self._scalable(component)
        self._set_count(seen, component, seen.count + 1)
        return self._now(f"{component}-{seen.count}")

    def scale_in(self, component: str) -> InstanceInfo:
        """One replica less (never below 1); for a Deployment, its ReplicaSet picks which pod
        goes, and the highest id goes from the listing (ids are by age)."""
        _, seen = self._scalable(component)
        if seen.count <= 1:
            raise Refused(f"{component} runs {seen.count} instance; it cannot scale in below 1")
        self._set_count(seen, component, seen.count - 1)
        self._settle(lambda: len(self._seen(self._record())[component].pods) < seen.count)
        return instance_info(seen.workload, seen.count - 1, None, seen.count - 1,
                             namespace=self.kube().namespace, replaced=0)

    def _set_count(self, seen: Seen, component: str, count: int) -> None:
        self.kube().scale(seen.workload.kind, seen.workload.name, count)
        with self._file.edit() as record:
            if record is not None:
                record.counts[component] = count

    # controls -----------------------------------------------------------------------------
    def _targets(self) -> Targets:
        topology = self.topology()
        settings = settings_of(topology)
        return Targets(self.kube().namespace, self._pods, lambda: self._links(topology),
                       lambda: CHAOS_GROUP in self.kube().served_groups(),
                       settings.fault_ttl_s)

    def _pods(self) -> dict[str, tuple[Workload, Pod | None]]:
        seen = self._seen(self._record())
        return {f"{c}-{i}": (s.workload, s.pods.get(i)) for c, s in seen.items()
                for i in s.ids()}

    def _links(self, topology: Topology) -> list[tuple[str, str, str]]:
        return view.mesh_links(topology, self._seen(self._record()))

    def _objects(self, topology: Topology | None = None) -> Objects:
        return Objects(self.kube(), (topology or self.topology()).name, self.clock,
                       self._run_of)

    def _run_of(self, fault_id: str) -> str | None:
        """The run of fault `fault-<n>`, from its record in the workspace's store."""
        number = fault_id.removeprefix("fault-")
        if not number.isdigit() or not self.workspace.store_path.exists():
            return None
        with self.workspace.store() as store:
            fault = store.get_fault(int(number))
        return fault.run_id if fault else None

    def network(self) -> KubeNetwork:
        return KubeNetwork(self._targets(), self._objects())

    def resources(self) -> KubeResources:
        return KubeResources(self._targets(), self._objects())

    def links(self) -> KubeLinks:
        return KubeLinks(self._targets(), self._objects())

    def service_faults(self) -> KubeServiceFaults:
        return KubeServiceFaults(self.admin_request)

    def sweep(self, open_tags: set[str] | None = None) -> list[str]:
        """Delete this cluster's expired objects, and (given `open_tags`) those of faults that
        are no longer open; nothing when no cluster is up. Returns their handles."""
        return self._objects().sweep(open_tags) if self.is_up() else []

    # the services' admin API --------------------------------------------------------------
    def admin_request(self, instance_id: str, method: str, path: str,
                      body: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        """Straight to the pod's `http` port (its pod IP), with the admin token from the
        environment variable `kubernetes.admin_token_env` names (see `admin` for why not
        through the API server's proxy)."""
        _, _, _, inst = self._target(instance_id)
        if inst.kind not in SERVICE_KINDS:
            raise UnknownTarget("service instance with an admin API", instance_id,
                                [i.id for i in self.info().instances
                                 if i.kind in SERVICE_KINDS])
        address = inst.endpoints.get("http")
        if not inst.running or address is None:
            raise Refused(f"{instance_id} is not running (state {inst.state}); it cannot "
                          "answer its admin API")
        token = admin_token(settings_of(self.topology()).admin_token_env)
        return call_admin(f"http://{address}{path}", method, body, token, timeout, instance_id)
