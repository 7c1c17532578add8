"""The cluster as the API server shows it now: each component's workload, its replicas and
its pods by instance index, read fresh for every question (nothing is cached between calls).
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.errors import InvalidInput
from controlplane.platform.base import ComponentInfo, InstanceInfo
from controlplane.platform.kubernetes.api import Kube, Missing
from controlplane.platform.kubernetes.connect import settings_of
from controlplane.platform.kubernetes.record import ClusterRecord
from controlplane.platform.kubernetes.workloads import (
    Pod,
    Workload,
    instance_info,
    ordered_pods,
    workloads,
)
from controlplane.topology import MESH_EDGES, Topology

__all__ = ["Seen", "component_info", "infos", "mesh_links", "replicas", "seen"]


@dataclass
class Seen:
    """One component as the API server shows it now."""

    workload: Workload
    replicas: int
    pods: dict[int, Pod]
    count: int                # instances the control plane asked for
    sync_standby: str = ""

    def ids(self) -> list[int]:
        return list(range(max(self.count, max(self.pods, default=-1) + 1)))


def replicas(kube: Kube, workload: Workload) -> int:
    """The workload's desired replicas; `InvalidInput` naming the namespace when it is not
    there (a wrong namespace or context, or the chart not installed)."""
    try:
        found = kube.workload(workload.kind, workload.name)
    except Missing:
        raise InvalidInput(
            f"no {workload.shown} for component {workload.component!r} in namespace "
            f"{kube.namespace!r} ({kube.where})", field="kubernetes.namespace",
            value=kube.namespace, fix="Set kubernetes.namespace and kubernetes.context "
            "to where the charts are installed, or kubernetes.components."
            f"{workload.component}.name to the workload's name") from None
    return int(found.spec.replicas or 0)


def sync_standby(kube: Kube, workload: Workload) -> str:
    """The ledger's synchronous standby, from Patroni's `<scope>-sync` ConfigMap."""
    if workload.service_kind != "ledger":
        return ""
    try:
        found = kube.config_map(f"{workload.patroni_scope}-sync")
    except Missing:
        return ""
    return str((found.metadata.annotations or {}).get("sync_standby", ""))


def seen(kube: Kube, record: ClusterRecord, topology: Topology) -> dict[str, Seen]:
    """Every component of the recorded cluster, as it is now."""
    found = {}
    for name, workload in workloads(topology, settings_of(topology)).items():
        pods = ordered_pods(workload, kube.pods(workload.label_selector))
        count = record.counts.get(name, topology.services[name].instances)
        found[name] = Seen(workload, replicas(kube, workload), pods, count,
                           sync_standby(kube, workload))
    return found


def infos(kube: Kube, record: ClusterRecord, components: dict[str, Seen]
          ) -> list[InstanceInfo]:
    return [instance_info(s.workload, i, s.pods.get(i), s.replicas, namespace=kube.namespace,
                          replaced=record.replaced.get(f"{c}-{i}", 0),
                          sync_standby=s.sync_standby)
            for c, s in components.items() for i in s.ids()]


def component_info(topology: Topology, name: str, instances: list[InstanceInfo]
                   ) -> ComponentInfo:
    svc, mine = topology.services[name], [i for i in instances if i.component == name]
    return ComponentInfo(name, svc.kind, svc.tier, svc.restart, list(svc.depends_on),
                         [i.id for i in mine], bool(mine) and all(i.health.ready for i in mine))


def mesh_links(topology: Topology, components: dict[str, Seen]) -> list[tuple[str, str, str]]:
    """(client, server, port) for each dependency link between the instances there are now."""
    if not topology.mesh:
        return []
    ids = {c: [f"{c}-{i}" for i in s.ids()] for c, s in components.items()}
    found = []
    for cname, client in topology.services.items():
        for server_kind, port in MESH_EDGES.get(client.kind, ()):
            if topology.has_kind(server_kind):
                sname, _ = topology.by_kind(server_kind)
                found += [(c, s, port) for c in ids[cname] for s in ids[sname]]
    return found
