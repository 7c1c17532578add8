"""The cluster described in one YAML file: services, instances, ports, dependencies, tier and
RTO/RPO targets.

`load_topology(path)` validates the file and raises `InvalidTopology` naming the file, the field
and the value. Ports may be numbers or `auto`; `resolve_ports` turns a topology into concrete
ports for one run of the cluster.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from controlplane.errors import InvalidTopology, quote
from controlplane.userfiles import read_document

__all__ = [
    "DEFAULT_TOPOLOGY",
    "KIND_PORTS",
    "MESH_SERVICE",
    "AlertmanagerSettings",
    "ControlplaneSettings",
    "KubernetesSettings",
    "KubernetesWorkload",
    "LedgerSettings",
    "MatcherSettings",
    "MeshLink",
    "PrometheusSettings",
    "Service",
    "Targets",
    "Topology",
    "load_topology",
    "parse_topology",
    "resolve_ports",
    "start_order",
    "with_alertmanager",
]

DEFAULT_TOPOLOGY = Path(__file__).resolve().parent.parent / "testbed" / "topology.yaml"

# The named ports each kind of component listens on.
KIND_PORTS: dict[str, tuple[str, ...]] = {
    "gateway": ("http",),
    "matcher": ("http",),
    "marketdata": ("http",),
    "ledger": ("postgres", "api"),
    "haproxy": ("primary", "stats"),
    "etcd": ("client", "peer"),
    "prometheus": ("http",),
    "alertmanager": ("http",),       # optional: between Prometheus and the control plane
    "controlplane": ("http",),
    "faultproxy": ("admin",),        # plus one port per mesh link, see mesh_links()
}
# Kinds that exist once per cluster, however many instances they run.
SINGLETON_KINDS = tuple(KIND_PORTS)

Port = int | Literal["auto"]
MAX_LISTED = 5              # validation errors shown at once


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Targets(_Strict):
    failover_seconds: float = Field(30, gt=0, le=3600)
    rto_seconds: float = Field(300, gt=0, le=86400)
    rpo_orders: int = Field(0, ge=0, le=1_000_000)
    availability: float = Field(0.9999, gt=0, lt=1)


PATRONI4_MIN_TTL = 20


class LedgerSettings(_Strict):
    """Patroni's timing: failover takes about `ttl` after the primary dies."""

    ttl: int = Field(20, ge=2, le=3600)
    loop_wait: int = Field(1, ge=1, le=600)
    retry_timeout: int = Field(3, ge=1, le=600)
    # true: Patroni names synchronous_node_count standbys (FIRST n) and re-selects when one
    # goes; quorum: a commit waits for any synchronous_node_count of the standbys (ANY n),
    # so losing one of two standbys does not stall writes (Patroni 4: patroni: pinned)
    synchronous_mode: bool | Literal["quorum"] = True
    synchronous_node_count: int = Field(1, ge=1, le=63)
    synchronous_mode_strict: bool = False
    maximum_lag_on_failover: int = Field(1048576, ge=0, le=2**40)
    # pinned: Patroni from requirements-patroni.lock (4.1.4); a leader whose lease expired while
    # it was frozen cannot take the leader key back from the node that promoted meanwhile.
    # debian: Debian's 3.0.2, which can (patroni#2689); kept as the reference for the hang bench.
    patroni: Literal["pinned", "debian"] = "pinned"

    def check(self) -> None:
        if self.synchronous_mode == "quorum" and self.patroni != "pinned":
            raise ValueError("synchronous_mode: quorum needs Patroni 4 (patroni: pinned); "
                             "Debian's 3.0.2 has no quorum commit")
        if self.patroni == "pinned" and self.ttl < PATRONI4_MIN_TTL:
            raise ValueError(
                f"ttl {self.ttl} is under {PATRONI4_MIN_TTL} s, which Patroni 4 (patroni: pinned) "
                f"silently raises to {PATRONI4_MIN_TTL}; set ttl: {PATRONI4_MIN_TTL} or more, or "
                "patroni: debian for Debian's 3.0.2")
        if self.loop_wait + 2 * self.retry_timeout > self.ttl:
            raise ValueError(
                f"loop_wait + 2*retry_timeout ({self.loop_wait} + 2*{self.retry_timeout}) must "
                f"not exceed ttl ({self.ttl}), or Patroni may lose the leader lock while healthy")


class PrometheusSettings(_Strict):
    scrape_interval: str = Field("1s", pattern=r"^\d+(ms|s|m)$")
    retention: str = Field("2d", pattern=r"^\d+(h|d|w)$")


class AlertmanagerSettings(_Strict):
    """Alertmanager's grouping timers, and `people`: the receiver that runbook notifications
    (alertname RunbookNotification) go to, in Alertmanager's own receiver syntax
    (`webhook_configs`, `email_configs`, `slack_configs`, `pagerduty_configs`, ...)."""

    group_wait: str = Field("1s", pattern=r"^\d+(ms|s|m|h)$")
    group_interval: str = Field("1s", pattern=r"^\d+(ms|s|m|h)$")
    repeat_interval: str = Field("1h", pattern=r"^\d+(s|m|h|d)$")
    people: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)

    @field_validator("people")
    @classmethod
    def _receiver_configs(cls, v: dict[str, list[dict[str, Any]]]) -> dict:
        wrong = [k for k in v if not k.endswith("_configs")]
        if wrong:
            raise ValueError(f"{wrong[0]!r} is not an Alertmanager receiver integration; use "
                             "webhook_configs, email_configs, slack_configs, pagerduty_configs")
        return v


class ControlplaneSettings(_Strict):
    """The control-plane service: forward every span batch to another OTLP/HTTP collector."""

    forward_otlp_endpoint: str | None = Field(None, pattern=r"^https?://")
    max_spans: int = Field(50_000, ge=1000, le=10_000_000)


class MatcherSettings(_Strict):
    """The matcher's capacity model: a matching engine is single-threaded per instance, and
    each order holds it `engine_cost_ms` (0: no model, as fast as the ledger allows)."""

    engine_cost_ms: float = Field(0.0, ge=0, le=1000)


SETTINGS_MODELS: dict[str, type[_Strict]] = {
    "ledger": LedgerSettings,
    "matcher": MatcherSettings,
    "prometheus": PrometheusSettings,
    "alertmanager": AlertmanagerSettings,
    "controlplane": ControlplaneSettings,
}


class Service(_Strict):
    kind: str
    tier: Literal["critical", "standard", "infrastructure", "observability"] = "standard"
    instances: int = Field(1, ge=1, le=64)
    ports: dict[str, Port] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    restart: Literal["always", "on-failure", "never"] = "on-failure"
    targets: Targets | None = None
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in KIND_PORTS:
            raise ValueError(f"unknown kind; available kinds: {', '.join(KIND_PORTS)}")
        return v

    def port_names(self) -> tuple[str, ...]:
        return KIND_PORTS[self.kind]

    def typed_settings(self) -> Any:
        model = SETTINGS_MODELS.get(self.kind)
        return model(**self.settings) if model else None


MESH_SERVICE = "mesh"
# Which dependency links carry client traffic: client kind -> (server kind, server port).
MESH_EDGES: dict[str, tuple[tuple[str, str], ...]] = {
    "gateway": (("matcher", "http"), ("marketdata", "http"), ("haproxy", "primary")),
    "matcher": (("haproxy", "primary"), ("marketdata", "http")),
}


@dataclass(frozen=True)
class MeshLink:
    """A client instance's connection to a server instance, carried by the fault proxy."""

    client: str           # "gateway-0"
    server: str           # "matcher-1"
    port: str             # the server's port name it connects to

    @property
    def name(self) -> str:
        return f"{self.client}->{self.server}"


class KubernetesWorkload(_Strict):
    """Which workload runs one component on Kubernetes, and how its pods are selected.
    Unset fields follow the labels and names the project's charts use (see
    `controlplane.platform.kubernetes`)."""

    kind: Literal["StatefulSet", "Deployment"] | None = None
    name: str | None = None
    selector: dict[str, str] | None = None
    patroni_scope: str | None = None      # the ledger: Patroni's scope (its `-sync` ConfigMap)


class KubernetesSettings(_Strict):
    """Where the cluster runs when `platform: kubernetes`."""

    kubeconfig: str | None = None        # default: $KUBECONFIG, ~/.kube/config, or in-cluster
    context: str | None = None           # default: the kubeconfig's current context
    in_cluster: bool = False             # use the pod's service account instead
    # default: the service account's namespace in a pod, else the kubeconfig context's, else
    # "default" (as kubectl picks it)
    namespace: str | None = Field(None, pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    release: str | None = None           # the Helm release; default: the topology's name
    components: dict[str, KubernetesWorkload] = Field(default_factory=dict)
    admin_token_env: str = "CONTROLPLANE_ADMIN_TOKEN"   # the services' admin token
    fault_ttl_s: float = Field(900, gt=0, le=86400)     # expiry of a fault without its own ttl
    request_timeout_s: float = Field(10, gt=0, le=300)


class Topology(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")
    platform: str = "local"
    mesh: bool = True           # put the fault proxy on each dependency link (a sidecar mesh)
    targets: Targets = Targets()
    kubernetes: KubernetesSettings | None = None     # for platform: kubernetes
    services: dict[str, Service]

    def effective(self) -> Topology:
        """The topology as run: with the mesh's fault proxy as a service of its own."""
        if not self.mesh or MESH_SERVICE in self.services or not self.mesh_links():
            return self
        clients = {n for n, s in self.services.items() if s.kind in MESH_EDGES}
        services = {MESH_SERVICE: Service(kind="faultproxy", tier="infrastructure",
                                          restart="always")}
        for name, svc in self.services.items():
            deps = [*svc.depends_on, MESH_SERVICE] if name in clients else svc.depends_on
            services[name] = svc.model_copy(update={"depends_on": deps})
        return self.model_copy(update={"services": services})

    def mesh_links(self) -> list[MeshLink]:
        if not self.mesh:
            return []
        links = []
        for cname, client in self.services.items():
            for server_kind, port in MESH_EDGES.get(client.kind, ()):
                if not self.has_kind(server_kind):
                    continue
                sname, _ = self.by_kind(server_kind)
                links += [MeshLink(c, s, port) for c in self.instance_ids(cname)
                          for s in self.instance_ids(sname)]
        return links

    def by_kind(self, kind: str) -> tuple[str, Service]:
        for name, svc in self.services.items():
            if svc.kind == kind:
                return name, svc
        raise KeyError(kind)

    def has_kind(self, kind: str) -> bool:
        return any(s.kind == kind for s in self.services.values())

    def targets_for(self, service: str) -> Targets:
        return self.services[service].targets or self.targets

    def instance_ids(self, service: str) -> list[str]:
        return [f"{service}-{i}" for i in range(self.services[service].instances)]


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _invalid(source: str, field: str, message: str, value: Any = None,
             fix: str = "") -> InvalidTopology:
    return InvalidTopology(message, source=source, field=field, value=value, fix=fix)


def _from_validation(err: ValidationError, data: Any, source: str) -> InvalidTopology:
    lines = []
    errors = err.errors()
    for e in errors[:MAX_LISTED]:
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        value = _lookup(data, loc)
        shown = f" (got {quote(value)})" if value is not None and e["type"] != "missing" else ""
        lines.append(f"{_fmt_loc(loc) or '(top level)'}: {e['msg']}{shown}")
    if len(errors) > MAX_LISTED:
        lines.append(f"and {len(errors) - MAX_LISTED} more")
    first = errors[0]
    floc = _fmt_loc(first["loc"])
    return InvalidTopology(
        "; ".join(lines), source=source, field="",
        fix=f"Fix {'these fields' if len(lines) > 1 else floc} in {source or 'the topology'}")


def parse_topology(data: Any, source: str = "<topology>") -> Topology:
    if not isinstance(data, dict):
        raise _invalid(source, "(top level)", "a topology is a mapping with 'name' and "
                       "'services'", value=type(data).__name__,
                       fix="See testbed/topology.yaml for an example")
    try:
        topo = Topology.model_validate(data)
    except ValidationError as err:
        raise _from_validation(err, data, source) from None
    _check_semantics(topo, source)
    return topo


def load_topology(path: str | Path | None = None) -> Topology:
    path = Path(path) if path else DEFAULT_TOPOLOGY
    data = read_document(path, error=InvalidTopology,
                         fix="Pass an existing topology file with --topology, or omit it to "
                         f"use {DEFAULT_TOPOLOGY}")
    return parse_topology(data, str(path))


def _check_semantics(topo: Topology, source: str) -> None:
    kinds: dict[str, str] = {}
    for name, svc in topo.services.items():
        field = f"services.{name}"
        if svc.kind in kinds:
            raise _invalid(source, f"{field}.kind", f"kind {svc.kind!r} is already used by "
                           f"service {kinds[svc.kind]!r}", value=svc.kind,
                           fix="Use one service per kind and raise its 'instances' instead")
        kinds[svc.kind] = name
        _check_ports(svc, field, source)
        for dep in svc.depends_on:
            if dep not in topo.services:
                raise _invalid(source, f"{field}.depends_on", "names no service in this topology",
                               value=dep, fix=f"Use one of: {', '.join(topo.services)}")
        _check_settings(svc, field, source)
        if svc.kind == "ledger" and svc.instances < 2:
            raise _invalid(source, f"{field}.instances", "the ledger needs a primary and at "
                           "least one synchronous standby", value=svc.instances,
                           fix="Set instances to 2 or more")
        if svc.kind == "ledger":
            _check_sync_count(svc, field, source)
        if svc.kind == "etcd" and svc.instances % 2 == 0:
            raise _invalid(source, f"{field}.instances", "etcd needs an odd member count for a "
                           "quorum", value=svc.instances, fix="Use 1, 3 or 5")
    try:
        start_order(topo)
    except CycleError as err:
        raise _invalid(source, "services.*.depends_on", "dependencies form a cycle",
                       value=" -> ".join(err.args[1]),
                       fix="Remove one of these depends_on entries") from None
    _check_fixed_port_collisions(topo, source)
    for name in (topo.kubernetes.components if topo.kubernetes else {}):
        if name not in topo.services:
            raise _invalid(source, f"kubernetes.components.{name}", "names no service in this "
                           "topology", value=name, fix=f"Use one of: {', '.join(topo.services)}")


def _check_sync_count(svc: Service, field: str, source: str) -> None:
    count = svc.typed_settings().synchronous_node_count
    if count > svc.instances - 1:
        raise _invalid(source, f"{field}.settings.synchronous_node_count", "more synchronous "
                       f"standbys than the ledger's {svc.instances - 1} standbys",
                       value=count, fix=f"Set it to {svc.instances - 1} or less, or raise "
                       "instances")


def _check_ports(svc: Service, field: str, source: str) -> None:
    names = svc.port_names()
    for pname, value in svc.ports.items():
        if pname not in names:
            raise _invalid(source, f"{field}.ports.{pname}", f"kind {svc.kind!r} has no port "
                           "of that name", value=pname, fix=f"Use: {', '.join(names)}")
        if value != "auto" and not 1024 <= value <= 65535 - svc.instances:
            raise _invalid(source, f"{field}.ports.{pname}", "port out of range", value=value,
                           fix="Use a port between 1024 and 65535, or 'auto'")


def _check_settings(svc: Service, field: str, source: str) -> None:
    model = SETTINGS_MODELS.get(svc.kind)
    if model is None:
        if svc.settings:
            raise _invalid(source, f"{field}.settings", f"kind {svc.kind!r} takes no settings",
                           value=sorted(svc.settings), fix="Remove the settings block")
        return
    try:
        typed = model(**svc.settings)
        check = getattr(typed, "check", None)
        if check:
            check()
    except ValidationError as err:
        e = err.errors()[0]
        key = _fmt_loc(e["loc"])
        raise _invalid(source, f"{field}.settings.{key}", e["msg"],
                       value=svc.settings.get(key) if e["type"] != "missing" else None,
                       fix=f"Valid settings for {svc.kind}: {', '.join(model.model_fields)}"
                       ) from None
    except ValueError as err:
        raise _invalid(source, f"{field}.settings", str(err),
                       fix="Adjust ttl, loop_wait or retry_timeout") from None


def _check_fixed_port_collisions(topo: Topology, source: str) -> None:
    seen: dict[int, str] = {}
    for name, svc in topo.services.items():
        for pname, value in svc.ports.items():
            if value == "auto":
                continue
            for i in range(svc.instances):
                port = value + i
                where = f"services.{name}.ports.{pname}"
                if port in seen:
                    raise _invalid(source, where, f"port {port} is also used by {seen[port]}",
                                   value=value, fix="Give each port its own number, or 'auto'")
                seen[port] = where


ALERTMANAGER_SERVICE = "alertmanager"


def with_alertmanager(topo: Topology) -> Topology:
    """`topo` with Alertmanager between Prometheus and the control plane (`cluster up
    --alertmanager`); unchanged when it already has one. Prometheus then waits for it."""
    if topo.has_kind("alertmanager"):
        return topo
    deps = [n for n, s in topo.services.items() if s.kind == "controlplane"]
    services = {ALERTMANAGER_SERVICE: Service(kind="alertmanager", tier="observability",
                                              restart="always", depends_on=deps)}
    for name, svc in topo.services.items():
        if svc.kind == "prometheus":
            svc = svc.model_copy(update={"depends_on": [*svc.depends_on, ALERTMANAGER_SERVICE]})
        services[name] = svc
    return topo.model_copy(update={"services": services})


def start_order(topo: Topology) -> list[str]:
    """Services in an order that starts every dependency before its dependants."""
    sorter = TopologicalSorter({n: s.depends_on for n, s in topo.services.items()})
    return list(sorter.static_order())


@dataclass(frozen=True)
class PortPlan:
    """Concrete ports for one run: {instance id: {port name: number}}."""

    ports: dict[str, dict[str, int]]

    def of(self, instance: str, name: str) -> int:
        return self.ports[instance][name]


def free_port(taken: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


def resolve_ports(topo: Topology, *, all_auto: bool = False) -> PortPlan:
    """Turn `auto` (or every port, with all_auto) into free loopback ports; the mesh's
    links get one each, under the fault proxy's instance."""
    taken: set[int] = set()
    plan: dict[str, dict[str, int]] = {}
    topo = topo.effective()
    for name, svc in topo.services.items():
        for i, inst in enumerate(topo.instance_ids(name)):
            plan[inst] = {}
            for pname in svc.port_names():
                value = svc.ports.get(pname, "auto")
                if all_auto or value == "auto":
                    plan[inst][pname] = free_port(taken)
                else:
                    plan[inst][pname] = value + i
                    taken.add(value + i)
    for link in topo.mesh_links():
        plan[f"{MESH_SERVICE}-0"][link.name] = free_port(taken)
    return PortPlan(plan)
