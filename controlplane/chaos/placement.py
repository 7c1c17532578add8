"""An experiment checked against a topology: every component, instance or role its faults name
(`target`, `parameters.peer`) exists there, the fault applies to that kind of component, a
link fault has the mesh links it needs, and every service its SLO probes read is one of the
topology's. A typo such as `target: gatewya` is refused before anything runs, with the
closest valid name and the list of them.

The names are those `controlplane.chaos.faults.base.resolve_target` accepts on a cluster
started from the topology: components, instances (`matcher-1`) and the ledger's roles
(`ledger:primary`, `ledger:standby`). A value that is a `${variable}` is left to the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controlplane.chaos.experiments import Experiment, InvalidExperiment, activities
from controlplane.chaos.faults import FAULTS, FaultKind
from controlplane.chaos.faults.links import LinkFault
from controlplane.suggest import fix_for
from controlplane.topology import Topology

__all__ = ["TopologyNames", "check_placement"]

ACTIONS = "controlplane.chaos.actions"
PROBES = "controlplane.chaos.probes"
ROLES = ("primary", "standby")
ROLE_KINDS = ("ledger",)            # the kinds whose instances have a role (Patroni's)


@dataclass(frozen=True)
class TopologyNames:
    """What an experiment may name on a cluster started from one topology."""

    topology: str
    kinds: dict[str, str]                   # component -> its kind
    instances: dict[str, list[str]]         # component -> its instances
    links: frozenset[tuple[str, str]]       # (client instance, server instance) of the mesh
    mesh: bool

    @classmethod
    def of(cls, topology: Topology) -> TopologyNames:
        run = topology.effective()          # as run: with the mesh's fault proxy
        return cls(run.name, {n: s.kind for n, s in run.services.items()},
                   {n: run.instance_ids(n) for n in run.services},
                   frozenset((ln.client, ln.server) for ln in run.mesh_links()), run.mesh)

    @property
    def roles(self) -> list[str]:
        return [f"{c}:{r}" for c, k in self.kinds.items() if k in ROLE_KINDS for r in ROLES]

    @property
    def targets(self) -> list[str]:
        return [*self.kinds, *(i for ids in self.instances.values() for i in ids), *self.roles]

    def resolve(self, name: str) -> tuple[str, list[str], bool] | None:
        """(component, the instances a fault on `name` may act on, whether it is a role)."""
        if name in self.kinds:
            return name, self.instances[name], False
        for component, ids in self.instances.items():
            if name in ids:
                return component, [name], False
        if name in self.roles:
            component = name.partition(":")[0]
            return component, self.instances[component], True
        return None

    @property
    def component_links(self) -> list[str]:
        """The mesh's links by component: gateway-matcher, ..."""
        owner = {i: c for c, ids in self.instances.items() for i in ids}
        return sorted({f"{owner[a]}-{owner[b]}" for a, b in self.links})

    def linked(self, a: str, b: str) -> bool:
        return (a, b) in self.links or (b, a) in self.links

    def peers_of(self, instances: list[str]) -> list[str]:
        """The instances (and their components) linked by the mesh to any of `instances`."""
        found = {b if a in instances else a for a, b in self.links
                 if a in instances or b in instances}
        return [*found, *(c for c, ids in self.instances.items() if found & set(ids))]


def check_placement(exp: Experiment, topology: Topology) -> None:
    """`InvalidExperiment` naming the file, the field and the value for the first name in
    `exp` that the topology does not have."""
    names = TopologyNames.of(topology)
    src = str(exp.path)
    for where, activity in activities(exp.data):
        provider = activity.get("provider") if isinstance(activity, dict) else None
        args = provider.get("arguments") if isinstance(provider, dict) else None
        if not isinstance(args, dict):
            continue
        field = f"{where}.provider.arguments"
        call = (provider.get("module"), provider.get("func"))
        if call == (ACTIONS, "inject_fault"):
            _check_fault(src, field, args, names)
        elif call[0] == PROBES and "service" in args:
            _check_service(src, f"{field}.service", args["service"], names)


def _plain(value: Any) -> bool:
    """A literal name: not a ${variable} that Chaos Toolkit substitutes at run time."""
    return isinstance(value, str) and "${" not in value


def _check_service(src: str, field: str, service: Any, names: TopologyNames) -> None:
    if _plain(service) and service not in names.kinds:
        raise InvalidExperiment(f"names no service of the topology {names.topology!r}",
                                source=src, field=field, value=service,
                                fix=fix_for(service, names.kinds, "services"))


def _check_fault(src: str, field: str, args: dict[str, Any], names: TopologyNames) -> None:
    kind, target = FAULTS.get(str(args.get("kind"))), args.get("target")
    if kind is None or not _plain(target):       # unknown kinds are refused by our rules
        return
    component, instances, role = _resolved(src, f"{field}.target", target, names)
    if kind.components and names.kinds[component] not in kind.components:
        fitting = [c for c, k in names.kinds.items() if k in kind.components]
        raise InvalidExperiment(f"{kind.name} does not apply to a {names.kinds[component]}",
                                source=src, field=f"{field}.target", value=target,
                                fix=f"Target one of: {', '.join(fitting) or '(none here)'}")
    params = args.get("parameters")
    peer = params.get("peer") if isinstance(params, dict) else None
    if kind.needs_peer and _plain(peer):
        peers = _resolved(src, f"{field}.parameters.peer", peer, names)[1]
        if issubclass(kind.params, LinkFault):
            every = role or args.get("pick", "one") != "all"
            _check_links(src, field, kind, (target, instances, every), (peer, peers), names)


def _resolved(src: str, field: str, name: str, names: TopologyNames
              ) -> tuple[str, list[str], bool]:
    found = names.resolve(name)
    if found is None:
        raise InvalidExperiment(f"names no component, instance or role of the topology "
                                f"{names.topology!r}", source=src, field=field, value=name,
                                fix=fix_for(name, names.targets, "targets"))
    return found


def _check_links(src: str, field: str, kind: FaultKind, target: tuple[str, list[str], bool],
                 peer: tuple[str, list[str]], names: TopologyNames) -> None:
    """A link fault acts on the mesh links between the target's instance (any of them may be
    picked, unless pick is all) and the peer's."""
    (name, instances, every), (peer_name, peers) = target, peer
    if not names.mesh:
        raise InvalidExperiment(f"{kind.name} acts on mesh links, and the topology "
                                f"{names.topology!r} has no mesh", source=src,
                                field=f"{field}.kind", value=kind.name,
                                fix="Set mesh: true in the topology, or use network-partition")
    linked = [i for i in instances if any(names.linked(i, p) for p in peers)]
    if len(linked) == len(instances) or (linked and not every):
        return
    unlinked = [i for i in instances if i not in linked]
    valid = names.peers_of(unlinked)
    fix = fix_for(peer_name, valid, f"peers of {name}") if valid else (
        f"{name} is on no mesh link; the mesh links {', '.join(names.component_links)}")
    raise InvalidExperiment(f"no mesh link between {', '.join(unlinked)} ({name}) and "
                            f"{peer_name}", source=src, field=f"{field}.parameters.peer",
                            value=peer_name, fix=fix)
