"""The fake's fault controls, kept in its record: rules, caps, helpers, fillers and faults are
remembered and reported back exactly as the contract describes (tags, idempotent removes,
counts), but they act on nothing: no packet is dropped, no helper runs, no byte is written.

A fault spec is checked for its field names and a positive `ttl_s` (as the fault proxy and the
services refuse other specs), kept as given, and expires after its ttl.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from controlplane.errors import ControlPlaneError, InvalidInput, PlatformError, UnknownTarget
from controlplane.platform.base import LinkControl, NetworkControl, ResourceControl, ServiceFaults
from controlplane.platform.fake.lifecycle import topology_of
from controlplane.platform.fake.record import FakeCluster, FakeInstance
from controlplane.topology import MESH_EDGES, MESH_SERVICE, MeshLink

__all__ = ["SERVICE_KINDS", "FakeLinks", "FakeNetwork", "FakeResources", "FakeServiceFaults",
           "InvalidFault", "fault_view", "known", "mesh_links", "put_fault", "service"]

Edit = Callable[[], AbstractContextManager[FakeCluster]]
Clock = Callable[[], float]
SERVICE_KINDS = ("gateway", "matcher", "marketdata")    # the services that fault themselves
LINK_FIELDS = {"ttl_s", "latency_ms", "jitter_ms", "direction", "bandwidth_kbps", "reset",
               "reset_probability", "blackhole"}
SERVICE_FIELDS = {"ttl_s", "error_rate", "error_status", "delay_ms", "delay_jitter_ms",
                  "routes", "freeze_updates"}
DISK_MB = 10_240.0            # each instance's data volume, unless `up(disk_mb=...)`


class InvalidFault(InvalidInput, PlatformError):
    """A fault spec refused (as the fault proxy and the services refuse it), naming the field."""

    def __init__(self, text: str, field: str, value: object) -> None:
        ControlPlaneError.__init__(self, text)
        self.source, self.field, self.value, self.fix = "fault spec", field, value, ""


def known(cluster: FakeCluster, ids: Iterable[str], kind: str = "instance") -> None:
    for inst in ids:
        if inst not in cluster.instances:
            raise UnknownTarget(kind, inst, sorted(cluster.instances))


def _check_spec(spec: dict[str, Any], fields: set[str]) -> float:
    extra = sorted(set(spec) - fields)
    if extra:
        raise InvalidFault(f"unknown field {extra[0]!r}; fields: {', '.join(sorted(fields))}",
                           extra[0], spec[extra[0]])
    ttl = spec.get("ttl_s")
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
        raise InvalidFault("ttl_s must be a number of seconds above 0", "ttl_s", ttl)
    return float(ttl)


def _remaining(fault: dict[str, Any], now: float) -> float:
    return round(max(0.0, fault["until"] - now), 3)


class FakeNetwork(NetworkControl):
    def __init__(self, edit: Edit) -> None:
        self._edit = edit

    def block(self, tag: str, sources: list[str], destinations: list[str],
              percent: float = 100.0) -> list[str]:
        if not 0 < percent <= 100:
            raise PlatformError(f"percent must be in (0, 100], got {percent}")
        with self._edit() as cluster:
            known(cluster, [*sources, *destinations])
            rules = [f"drop {percent:g}% from {src} to {', '.join(destinations)}"
                     for src in sources]
            cluster.network.setdefault(tag, []).extend(
                {"handle": cluster.next_handle(), "rule": r} for r in rules)
        return rules

    def unblock(self, tag: str) -> int:
        with self._edit() as cluster:
            return len(cluster.network.pop(tag, []))

    def active(self, tag: str) -> list[dict[str, Any]]:
        with self._edit() as cluster:
            return [{**r, "packets": 0, "bytes": 0} for r in cluster.network.get(tag, [])]


class FakeResources(ResourceControl):
    def __init__(self, edit: Edit) -> None:
        self._edit = edit

    # CPU -------------------------------------------------------------------------------
    def set_cpu_limit(self, instance_id: str, cores: float | None) -> None:
        if cores is not None and cores <= 0:
            raise PlatformError(f"a CPU limit is a number of cores above 0, got {cores}")
        with self._edit() as cluster:
            known(cluster, [instance_id])
            if cores is None:
                cluster.cpu.pop(instance_id, None)
            else:
                cluster.cpu[instance_id] = float(cores)

    def cpu_limit(self, instance_id: str) -> float | None:
        with self._edit() as cluster:
            known(cluster, [instance_id])
            return cluster.cpu.get(instance_id)

    # helpers: recorded, never run ----------------------------------------------------------
    def spawn_helper(self, tag: str, instance_id: str | None, argv: list[str],
                     env: dict[str, str] | None = None) -> str:
        with self._edit() as cluster:
            if instance_id is not None:
                known(cluster, [instance_id])
            handle = f"fake-helper/{cluster.next_handle()}"
            cluster.helpers.setdefault(tag, []).append(
                {"handle": handle, "instance": instance_id, "argv": list(argv)})
        return handle

    def helpers(self, tag: str) -> list[str]:
        with self._edit() as cluster:
            return [h["handle"] for h in cluster.helpers.get(tag, [])]

    def helper_usage(self, tag: str) -> dict[str, float]:
        return {"count": len(self.helpers(tag)), "cpu_seconds": 0.0, "resident_mb": 0.0}

    def stop_helpers(self, tag: str) -> int:
        with self._edit() as cluster:
            return len(cluster.helpers.pop(tag, []))

    # processes: one per running instance, matched by any `match` -------------------------
    def _process(self, instance_id: str, act: Callable[[FakeInstance], int]) -> int:
        with self._edit() as cluster:
            known(cluster, [instance_id])
            return act(cluster.instances[instance_id])

    def freeze_processes(self, instance_id: str, match: str) -> int:
        def freeze(inst: FakeInstance) -> int:
            inst.processes_frozen = inst.running
            return int(inst.running)
        return self._process(instance_id, freeze)

    def thaw_processes(self, instance_id: str, match: str) -> int:
        def thaw(inst: FakeInstance) -> int:
            was, inst.processes_frozen = inst.processes_frozen, False
            return int(was)
        return self._process(instance_id, thaw)

    def process_states(self, instance_id: str, match: str) -> list[str]:
        with self._edit() as cluster:
            known(cluster, [instance_id])
            inst = cluster.instances[instance_id]
        if not inst.running:
            return []
        return ["frozen" if inst.paused or inst.processes_frozen else "running"]

    # disk ------------------------------------------------------------------------------
    def fill_disk(self, tag: str, instance_id: str, megabytes: int) -> None:
        with self._edit() as cluster:
            known(cluster, [instance_id])
            fills = cluster.disk.setdefault(tag, {})
            fills.pop(instance_id, None)          # a fill replaces the tag's earlier one
            free = _free_mb(cluster, instance_id)
            if megabytes > free:
                raise PlatformError(f"no space left for {megabytes} MB on {instance_id}'s "
                                    f"data volume ({free:.0f} MB free)")
            fills[instance_id] = float(megabytes)

    def disk_fill_mb(self, tag: str, instance_id: str) -> float:
        with self._edit() as cluster:
            known(cluster, [instance_id])
            return cluster.disk.get(tag, {}).get(instance_id, 0.0)

    def clear_disk_fill(self, tag: str, instance_id: str) -> None:
        with self._edit() as cluster:
            known(cluster, [instance_id])
            cluster.disk.get(tag, {}).pop(instance_id, None)

    def disk_free_mb(self, instance_id: str) -> float:
        with self._edit() as cluster:
            known(cluster, [instance_id])
            return _free_mb(cluster, instance_id)


def _free_mb(cluster: FakeCluster, instance_id: str) -> float:
    used = sum(fills.get(instance_id, 0.0) for fills in cluster.disk.values())
    return cluster.options.get("disk_mb", DISK_MB) - used


def mesh_links(cluster: FakeCluster) -> list[MeshLink]:
    """The links the mesh carries now: each client instance to each server instance (scaled
    instances included), as the local fault proxy is configured."""
    topology = topology_of(cluster)
    if MESH_SERVICE not in topology.services:
        raise PlatformError("this cluster runs without the mesh (topology mesh: false), so "
                            "links cannot be faulted; set mesh: true and restart it")
    by_component: dict[str, list[str]] = {}
    for inst in sorted(cluster.instances.values(), key=lambda i: (i.component, i.index)):
        by_component.setdefault(inst.component, []).append(inst.id)
    links = []
    for cname, client in topology.services.items():
        for server_kind, port in MESH_EDGES.get(client.kind, ()):
            if topology.has_kind(server_kind):
                sname, _ = topology.by_kind(server_kind)
                links += [MeshLink(c, s, port) for c in by_component.get(cname, [])
                          for s in by_component.get(sname, [])]
    return links


class FakeLinks(LinkControl):
    def __init__(self, edit: Edit, clock: Clock) -> None:
        self._edit, self._clock = edit, clock

    def links(self) -> list[dict[str, Any]]:
        with self._edit() as cluster:
            now = self._clock()
            return [_view(link, cluster.links.get(link.name), now)
                    for link in mesh_links(cluster)]

    def set_fault(self, link: str, spec: dict[str, Any]) -> dict[str, Any]:
        with self._edit() as cluster:
            found, now = self._link(cluster, link), self._clock()
            ttl = _check_spec(spec, LINK_FIELDS)
            cluster.links[link] = {"spec": dict(spec), "until": now + ttl}
            return _view(found, cluster.links[link], now)

    def clear(self, link: str) -> bool:
        with self._edit() as cluster:
            self._link(cluster, link)
            return cluster.links.pop(link, None) is not None

    @staticmethod
    def _link(cluster: FakeCluster, name: str) -> MeshLink:
        links = {link.name: link for link in mesh_links(cluster)}
        if name not in links:
            raise UnknownTarget("link", name, sorted(links))
        return links[name]


def _view(link: MeshLink, fault: dict[str, Any] | None, now: float) -> dict[str, Any]:
    return {"name": link.name, "client": link.client, "server": link.server, "port": link.port,
            "fault": None if fault is None else dict(fault["spec"]),
            "ttl_remaining_s": None if fault is None else _remaining(fault, now)}


class FakeServiceFaults(ServiceFaults):
    """Each testbed service's own fault, held in its process's memory: it is gone once the
    process is (a restart clears it), and a service that does not run cannot answer."""

    def __init__(self, edit: Edit, clock: Clock) -> None:
        self._edit, self._clock = edit, clock

    def set_fault(self, instance_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        with self._edit() as cluster:
            return put_fault(cluster, service(cluster, instance_id), spec, self._clock())

    def fault(self, instance_id: str) -> dict[str, Any] | None:
        with self._edit() as cluster:
            inst = service(cluster, instance_id)
            return fault_view(cluster, inst, self._clock())["fault"]

    def clear(self, instance_id: str) -> bool:
        with self._edit() as cluster:
            service(cluster, instance_id)
            return cluster.service_faults.pop(instance_id, None) is not None


def service(cluster: FakeCluster, instance_id: str) -> FakeInstance:
    """A running instance of a service that faults itself (UnknownTarget if none of that name;
    PlatformError when it does not run, as a service that does not answer)."""
    services = sorted(i.id for i in cluster.instances.values() if i.kind in SERVICE_KINDS)
    if instance_id not in services:
        raise UnknownTarget("service instance", instance_id, services)
    inst = cluster.instances[instance_id]
    if not inst.running or inst.paused:
        raise PlatformError(f"{instance_id} did not answer: it is {inst.state}"
                            + (" (frozen)" if inst.paused else ""))
    return inst


def put_fault(cluster: FakeCluster, inst: FakeInstance, spec: dict[str, Any],
              now: float) -> dict[str, Any]:
    """What a service's PUT /admin/faults does: check the spec, replace the fault in force."""
    ttl = _check_spec(spec, SERVICE_FIELDS)
    if spec.get("freeze_updates") and inst.kind != "marketdata":
        raise PlatformError(f"{inst.id} refused the fault: this service has no updates to "
                            "freeze (only marketdata has) (freeze_updates)")
    cluster.service_faults[inst.id] = {"spec": dict(spec), "until": now + ttl}
    return fault_view(cluster, inst, now)


def fault_view(cluster: FakeCluster, inst: FakeInstance, now: float) -> dict[str, Any]:
    """What a service's GET /admin/faults answers."""
    fault = cluster.service_faults.get(inst.id)
    return {"fault": None if fault is None else dict(fault["spec"]),
            "ttl_remaining_s": None if fault is None else _remaining(fault, now),
            "supports": ["freeze_updates"] if inst.kind == "marketdata" else []}
