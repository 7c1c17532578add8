"""The contract every platform keeps: what the product can ask of a cluster, in intents.

Chaos faults, runbooks, drills, the meter, the server and the CLI talk to a `Platform` (built by
`controlplane.platform.load_platform`), never to processes, pods or files of the cluster. The
contract speaks intents (freeze, kill, confirm dead, fill a disk), never mechanisms (pids,
signals, `/proc`, paths), as Patroni's `AbstractDCS` does for its stores. A capability a platform
lacks raises `Unsupported` naming the platform and the capability; failures are typed
(`NotFound`, `Refused`, `Unreachable`) so callers catch them by type, never by message.
`local` supervises real processes on this machine; `fake` keeps a cluster in memory for tests;
`kubernetes` drives a cluster through its API server. `tests/platform/conformance.py` is the
suite every platform passes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from controlplane.errors import UnknownTarget, Unsupported
from controlplane.topology import Topology
from controlplane.workspace import Workspace

__all__ = ["ClusterInfo", "ComponentInfo", "DeathCheck", "DownReport", "Health", "InstanceInfo",
           "LinkControl", "NetworkControl", "Platform", "ResourceControl", "ServiceFaults"]


@dataclass(frozen=True)
class Health:
    """What a health probe saw: `alive` (answers at all), `ready` (serves), and a role."""

    alive: bool
    ready: bool
    role: str = ""            # ledger: primary / sync_standby / standby; others: ""
    detail: str = ""
    checked_at: float = 0.0

    @classmethod
    def unknown(cls, detail: str = "not checked yet") -> Health:
        return cls(alive=False, ready=False, detail=detail)


@dataclass(frozen=True)
class InstanceInfo:
    id: str                   # "ledger-0"
    component: str            # "ledger"
    kind: str                 # "ledger"
    state: str                # starting / running / paused / stopped / exited / crashed / backoff
    running: bool             # its processes (or pod) are alive, frozen or not
    endpoints: dict[str, str]
    health: Health
    restarts: int = 0
    started_at: float | None = None
    exit_code: int | None = None
    log: str = ""             # where its output can be read (a path, a `kubectl logs` line)
    incarnation: str = ""     # changes whenever its processes are replaced (opaque)
    handle: str = ""          # what the platform calls it, for people ("pid 41", "pod/x-0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstanceInfo:
        return cls(**{**data, "health": Health(**data["health"])})


@dataclass(frozen=True)
class ComponentInfo:
    name: str
    kind: str
    tier: str
    restart: str
    depends_on: list[str]
    instances: list[str] = field(default_factory=list)
    ready: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    platform: str
    phase: str                # starting / ready / failed / stopping
    detail: str
    components: list[ComponentInfo]
    instances: list[InstanceInfo]

    def instance(self, instance_id: str) -> InstanceInfo:
        for inst in self.instances:
            if inst.id == instance_id:
                return inst
        raise KeyError(instance_id)

    def known(self, instance_id: str) -> InstanceInfo:
        """The instance, or `UnknownTarget` (the platform's NotFound) naming the valid ones."""
        for inst in self.instances:
            if inst.id == instance_id:
                return inst
        raise UnknownTarget("instance", instance_id, [i.id for i in self.instances])

    def of_component(self, component: str) -> list[InstanceInfo]:
        return [i for i in self.instances if i.component == component]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterInfo:
        return cls(
            name=data["name"], platform=data["platform"], phase=data["phase"],
            detail=data.get("detail", ""),
            components=[ComponentInfo(**c) for c in data["components"]],
            instances=[InstanceInfo.from_dict(i) for i in data["instances"]])


@dataclass(frozen=True)
class DeathCheck:
    """The answer to "is this instance dead?": `dead` only when the platform is sure nothing of
    it runs (so it cannot accept writes); `detail` says what was seen."""

    dead: bool
    detail: str


@dataclass(frozen=True)
class DownReport:
    stopped: bool             # the cluster answered and stopped
    swept: list[str] = field(default_factory=list)   # what had to be killed after (described)


class NetworkControl(ABC):
    """Packet-level faults between instances (local: nftables by cgroup; Kubernetes: policies).

    Every change carries a `tag` (the fault's id) so it can be found and removed again.
    """

    @abstractmethod
    def block(self, tag: str, sources: list[str], destinations: list[str],
              percent: float = 100.0) -> list[str]:
        """Drop `percent` % of the packets `sources` send to `destinations` (100: a partition
        in that direction). Returns a description of each rule."""

    @abstractmethod
    def unblock(self, tag: str) -> int:
        """Remove what `block` added under `tag`; idempotent. Returns how many rules went."""

    @abstractmethod
    def active(self, tag: str) -> list[dict[str, Any]]:
        """The rules in force under `tag`, with packet counters."""


class ResourceControl(ABC):
    """CPU, memory and disk faults on one instance."""

    @abstractmethod
    def set_cpu_limit(self, instance_id: str, cores: float | None) -> None:
        """Cap an instance's CPU (None lifts the cap)."""

    @abstractmethod
    def cpu_limit(self, instance_id: str) -> float | None:
        """The instance's current CPU cap, None when uncapped."""

    @abstractmethod
    def spawn_helper(self, tag: str, instance_id: str | None, argv: list[str],
                     env: dict[str, str] | None = None) -> str:
        """Start a helper (a CPU burner, a memory hog, a connection holder) next to an
        instance, accounted to it where the platform can; it must stop by itself. Returns the
        helper's handle."""

    @abstractmethod
    def helpers(self, tag: str) -> list[str]:
        """Handles of the live helpers started under `tag`."""

    @abstractmethod
    def helper_usage(self, tag: str) -> dict[str, float]:
        """What the live helpers of `tag` use: {"count", "cpu_seconds", "resident_mb"}."""

    @abstractmethod
    def stop_helpers(self, tag: str) -> int:
        """Stop the helpers of `tag`; idempotent. Returns how many were running."""

    @abstractmethod
    def freeze_processes(self, instance_id: str, match: str) -> int:
        """Freeze the instance's processes whose command contains `match` (PostgreSQL's WAL
        replay: "startup recovering"). Returns how many it froze."""

    @abstractmethod
    def thaw_processes(self, instance_id: str, match: str) -> int:
        """Undo `freeze_processes`; idempotent. Returns how many it thawed."""

    @abstractmethod
    def process_states(self, instance_id: str, match: str) -> list[str]:
        """"frozen" or "running" for each live process of the instance matching `match`."""

    @abstractmethod
    def fill_disk(self, tag: str, instance_id: str, megabytes: int) -> None:
        """Write `megabytes` of filler where the instance keeps its data."""

    @abstractmethod
    def disk_fill_mb(self, tag: str, instance_id: str) -> float:
        """How many MB of `tag`'s filler the instance's data volume holds now."""

    @abstractmethod
    def clear_disk_fill(self, tag: str, instance_id: str) -> None:
        """Remove `tag`'s filler; idempotent."""

    @abstractmethod
    def disk_free_mb(self, instance_id: str) -> float:
        """Free space on the instance's data volume."""


class LinkControl(ABC):
    """Faults on dependency links (local: the fault proxy; Kubernetes: the service mesh)."""

    @abstractmethod
    def links(self) -> list[dict[str, Any]]:
        """Every link: name (client->server), client, server, and its fault if any."""

    @abstractmethod
    def set_fault(self, link: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Latency, jitter, bandwidth, reset or blackhole on one link (with a ttl_s)."""

    @abstractmethod
    def clear(self, link: str) -> bool:
        """Remove a link's fault; idempotent."""


class ServiceFaults(ABC):
    """Faults a service applies to itself on request (error rate, slow responses, stalls)."""

    @abstractmethod
    def set_fault(self, instance_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Ask an instance to inject a fault into its own responses (with a ttl_s)."""

    @abstractmethod
    def fault(self, instance_id: str) -> dict[str, Any] | None:
        """The fault an instance applies now, None when there is none."""

    @abstractmethod
    def clear(self, instance_id: str) -> bool:
        """Stop the instance's self-injected fault; idempotent."""


class Platform(ABC):
    """What the product can do to a cluster, whatever runs it.

    Built with the `workspace` where the control plane keeps its records of this cluster."""

    name: str
    # whether the control-plane service runs the fault reaper for this platform (no
    # supervisor of the platform's own does, as local's daemon does)
    reaped_by_service: bool = False

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def sweep(self, open_tags: set[str] | None = None) -> list[str]:
        """Delete what the platform keeps in the cluster for faults (Kubernetes: the objects
        it created) that expired or, given `open_tags`, whose fault is no longer open; the
        reaper, `chaos recover` and `chaos halt` call it. Returns what went, described.
        Platforms that keep nothing of the kind outside their processes return []."""
        return []

    # lifecycle --------------------------------------------------------------------------
    @abstractmethod
    def up(self, topology: Topology, *, timeout: float = 300.0,
           progress: Callable[[ClusterInfo], None] | None = None,
           **options: Any) -> ClusterInfo:
        """Bring the topology's cluster up and wait until every component is ready."""

    @abstractmethod
    def down(self, *, purge: bool = False, timeout: float = 90.0) -> DownReport:
        """Stop the cluster, leaving nothing running; `purge` also discards its data."""

    @abstractmethod
    def is_up(self) -> bool:
        """Whether the cluster answers."""

    @abstractmethod
    def topology(self) -> Topology:
        """The topology the running cluster was started from (targets included)."""

    @abstractmethod
    def ledger_dsn(self) -> str:
        """A DSN for the ledger's write endpoint, for reconciling acknowledged orders."""

    @abstractmethod
    def ledger_admin_dsn(self, instance_id: str) -> str:
        """A superuser DSN straight to one ledger node (replication and load faults)."""

    def admin_request(self, instance_id: str, method: str, path: str,
                      body: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        """Call one service instance's admin API as the control plane (authenticated), and
        return its JSON answer; `PlatformError` when it refuses or does not answer."""
        raise Unsupported(self.name, "calling a service's admin API")

    @abstractmethod
    def info(self) -> ClusterInfo:
        """Components, instances, their state, health, role and endpoints."""

    def components(self) -> list[ComponentInfo]:
        return self.info().components

    def instances(self, component: str | None = None) -> list[InstanceInfo]:
        info = self.info()
        return info.of_component(component) if component else info.instances

    def health(self, instance_id: str) -> Health:
        """The instance's last probe; `NotFound` for an instance the cluster does not have."""
        return self.info().known(instance_id).health

    def endpoints(self, component: str) -> dict[str, dict[str, str]]:
        """{instance id: {port name: address}} for one component."""
        return {i.id: i.endpoints for i in self.instances(component)}

    @abstractmethod
    def stop(self, instance_id: str) -> InstanceInfo:
        """Stop gracefully (SIGTERM, then SIGKILL); it stays down until `start`."""

    @abstractmethod
    def start(self, instance_id: str) -> InstanceInfo:
        """Start an instance that is stopped, exited or crashed."""

    @abstractmethod
    def kill(self, instance_id: str, *, graceful: bool = False) -> InstanceInfo:
        """Crash an instance (`graceful`: a shutdown it did not ask for); its restart policy
        decides whether it comes back."""

    @abstractmethod
    def freeze(self, instance_id: str) -> InstanceInfo:
        """Freeze every process of the instance (a hang, not a crash)."""

    @abstractmethod
    def thaw(self, instance_id: str) -> InstanceInfo:
        """Undo `freeze`."""

    @abstractmethod
    def confirm_dead(self, instance_id: str, incarnation: str = "") -> DeathCheck:
        """Whether nothing of the instance runs any more (of `incarnation`, when given: that
        life of it). A runbook acts on a node it believes dead only after this says so."""

    def fence(self, instance_id: str) -> InstanceInfo:
        """Cut the instance off from its clients and peers so it cannot accept writes."""
        raise Unsupported(self.name, "fencing an instance")

    @abstractmethod
    def scale(self, component: str) -> InstanceInfo:
        """Start one more instance of a component (for the matcher: and move symbols to it)."""

    @abstractmethod
    def scale_in(self, component: str) -> InstanceInfo:
        """Stop and forget the highest-numbered instance of a component, never the last one
        (for the matcher: its symbols move to the others first, then it is drained)."""

    @abstractmethod
    def network(self) -> NetworkControl:
        """Packet-level faults between instances."""

    @abstractmethod
    def resources(self) -> ResourceControl:
        """CPU, memory and disk faults."""

    @abstractmethod
    def links(self) -> LinkControl:
        """Faults on dependency links."""

    @abstractmethod
    def service_faults(self) -> ServiceFaults:
        """Faults services apply to their own responses."""
