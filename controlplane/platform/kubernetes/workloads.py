"""Components as workloads, instances as pods.

Each component is one workload (`kind`, `name`) whose pods match a label selector; unset, they
follow the project's charts: a StatefulSet for the ledger and etcd, a Deployment for the rest,
named `<release>-<component>`, its pods labelled `app.kubernetes.io/name=<component>` and
`app.kubernetes.io/instance=<release>` (the release defaults to the topology's name); the
ledger's Patroni scope is its workload's name.

Instance `<component>-<n>` is:
- of a StatefulSet, the pod with ordinal n (`<workload>-<n>`), so it keeps its id across
  restarts;
- of a Deployment, the n-th of its pods that are not terminating, oldest first (by creation
  time, then name). A Deployment's pods have no stable identity: when one is replaced, the
  replacement is the youngest, so the ids of the others move down.

Ids run up to the count the control plane asked for (the topology's instances, changed by
`scale` and `scale_in`); an id without a pod is `starting` while the workload's replicas
include it and `stopped` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client

from controlplane.platform.base import Health, InstanceInfo
from controlplane.topology import KubernetesSettings, Topology

__all__ = ["Pod", "Workload", "instance_info", "ordered_pods", "workloads"]

STATEFUL_KINDS = ("ledger", "etcd")
PRIMARY_ROLES = ("primary", "master", "standby_leader")


@dataclass(frozen=True)
class Workload:
    component: str
    kind: str                 # StatefulSet / Deployment
    name: str
    selector: dict[str, str]
    service_kind: str         # the topology's kind: ledger, gateway, ...
    patroni_scope: str

    @property
    def label_selector(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.selector.items()))

    @property
    def shown(self) -> str:
        return f"{self.kind} {self.name!r}"


def workloads(topology: Topology, settings: KubernetesSettings) -> dict[str, Workload]:
    """The workload of every component of the topology."""
    release = settings.release or topology.name
    found = {}
    for name, svc in topology.services.items():
        given = settings.components.get(name)
        kind = (given and given.kind) or (
            "StatefulSet" if svc.kind in STATEFUL_KINDS else "Deployment")
        wname = (given and given.name) or f"{release}-{name}"[:63].rstrip("-")
        selector = (given and given.selector) or {"app.kubernetes.io/name": name,
                                                  "app.kubernetes.io/instance": release}
        found[name] = Workload(name, kind, wname, dict(selector), svc.kind,
                               (given and given.patroni_scope) or wname)
    return found


@dataclass(frozen=True)
class Pod:
    """The facts the platform reads from one pod."""

    name: str
    uid: str
    phase: str
    ready: bool
    running: bool
    waiting: str              # a waiting container's reason (CrashLoopBackOff, ...)
    restarts: int
    exit_code: int | None
    started_at: float | None
    created: float
    terminating: bool
    role: str                 # Patroni's `role` label
    endpoints: dict[str, str]

    @property
    def incarnation(self) -> str:
        """Changes when the pod is replaced (a new uid) or its container restarts."""
        return f"{self.uid}/{self.restarts}"

    @classmethod
    def of(cls, pod: client.V1Pod) -> Pod:
        meta, status = pod.metadata, pod.status
        statuses = status.container_statuses or []
        conditions = {c.type: c.status for c in status.conditions or []}
        return cls(
            meta.name, meta.uid or "", status.phase or "Unknown",
            conditions.get("Ready") == "True",
            any(s.state and s.state.running for s in statuses),
            next((s.state.waiting.reason or "" for s in statuses
                  if s.state and s.state.waiting), ""),
            sum(s.restart_count or 0 for s in statuses), _exit_code(statuses),
            status.start_time.timestamp() if status.start_time else None,
            meta.creation_timestamp.timestamp() if meta.creation_timestamp else 0.0,
            meta.deletion_timestamp is not None, (meta.labels or {}).get("role", ""),
            _endpoints(pod))


def _exit_code(statuses: list[Any]) -> int | None:
    for s in statuses:
        done = (s.state and s.state.terminated) or (s.last_state and s.last_state.terminated)
        if done:
            return int(done.exit_code)
    return None


def _endpoints(pod: client.V1Pod) -> dict[str, str]:
    ip = pod.status.pod_ip
    if not ip:
        return {}
    return {p.name: f"{ip}:{p.container_port}" for c in pod.spec.containers
            for p in c.ports or [] if p.name}


def ordered_pods(workload: Workload, pods: list[client.V1Pod]) -> dict[int, Pod]:
    """The workload's pods by instance index (see the module's docstring)."""
    seen = [Pod.of(p) for p in pods]
    if workload.kind == "StatefulSet":
        prefix = f"{workload.name}-"
        return {int(p.name[len(prefix):]): p for p in seen
                if p.name.startswith(prefix) and p.name[len(prefix):].isdigit()}
    live = sorted((p for p in seen if not p.terminating), key=lambda p: (p.created, p.name))
    return dict(enumerate(live))


def _state(pod: Pod | None, index: int, replicas: int) -> str:
    if pod is None:
        return "starting" if index < replicas else "stopped"
    if pod.phase == "Failed":
        return "crashed"
    if pod.phase == "Succeeded":
        return "exited"
    if pod.waiting == "CrashLoopBackOff":
        return "backoff"
    return "running" if pod.running else "starting"


def role_of(workload: Workload, pod: Pod, sync_standby: str) -> str:
    """A ledger pod's role: Patroni's `role` label, and its `-sync` ConfigMap for which
    replica is the synchronous standby."""
    if workload.service_kind != "ledger" or not pod.role:
        return ""
    if pod.role in PRIMARY_ROLES:
        return "primary"
    return "sync_standby" if pod.name == sync_standby else "standby"


def instance_info(workload: Workload, index: int, pod: Pod | None, replicas: int,
                  *, namespace: str, replaced: int, sync_standby: str = "") -> InstanceInfo:
    inst_id = f"{workload.component}-{index}"
    state = _state(pod, index, replicas)
    if pod is None:
        detail = f"no pod ({workload.shown} runs {replicas} replicas)"
        return InstanceInfo(inst_id, workload.component, workload.service_kind, state, False,
                            {}, Health(False, False, detail=detail), restarts=replaced)
    running = pod.running and not pod.terminating and state == "running"
    detail = f"pod {pod.name}: {pod.phase}" + (", terminating" if pod.terminating else "") + (
        f", {pod.waiting}" if pod.waiting else "")
    health = Health(running, running and pod.ready, role_of(workload, pod, sync_standby),
                    detail)
    return InstanceInfo(
        inst_id, workload.component, workload.service_kind, state, running, pod.endpoints,
        health, restarts=pod.restarts + replaced, started_at=pod.started_at,
        exit_code=pod.exit_code, log=f"kubectl logs -n {namespace} {pod.name}",
        incarnation=pod.incarnation if running else "", handle=f"pod/{pod.name}")
