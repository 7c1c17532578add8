"""The fault controls on Kubernetes: packet faults, link faults, stress and service faults.

- network (`block`): with Chaos Mesh, one NetworkChaos per source (`partition` at 100 %,
  `loss` below); without it, a full partition between StatefulSet pods as one NetworkPolicy per
  destination that admits every pod but the sources. Partial loss, or a partition involving a
  Deployment's pod (no label names one such pod), without Chaos Mesh is `Unsupported`.
- links: NetworkChaos `delay` (latency, jitter), `bandwidth` and `partition` (blackhole) from
  the client's pod to the server's; connection resets are `Unsupported` (NetworkChaos has no
  such action). Istio fault injection is not built.
- resources: the product's CPU burner and memory hog helpers become StressChaos on the pod;
  their usage cannot be read (no metrics API here), so `helper_usage` counts them only. CPU
  caps, process freezes and disk fills are `Unsupported`.
- service faults: the services' own `/admin/faults`, straight to the pod (see `admin`).

Packet counters are not known on Kubernetes: `active` reports `packets: None`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from controlplane.errors import PlatformError, UnknownTarget, Unsupported
from controlplane.platform.base import LinkControl, NetworkControl, ResourceControl, ServiceFaults
from controlplane.platform.kubernetes.objects import NETCHAOS, NETPOL, STRESS, Objects, chaos_body
from controlplane.platform.kubernetes.workloads import Pod, Workload

__all__ = ["KubeLinks", "KubeNetwork", "KubeResources", "KubeServiceFaults", "Targets"]

NAME = "kubernetes"
POD_NAME = "statefulset.kubernetes.io/pod-name"
CHAOS_HINT = "install Chaos Mesh (https://chaos-mesh.org), whose CRDs this cluster does not serve"
LINK_FIELDS = {"ttl_s", "latency_ms", "jitter_ms", "direction", "bandwidth_kbps", "reset",
               "reset_probability", "blackhole"}
DIRECTIONS = {"upstream": "to", "downstream": "from", "both": "both"}


class Targets:
    """What the controls need from the platform: pods by instance id, the namespace, the
    topology's links, whether Chaos Mesh is served."""

    def __init__(self, namespace: str, pods: Callable[[], dict[str, tuple[Workload, Pod | None]]],
                 links: Callable[[], list[tuple[str, str, str]]], chaos: Callable[[], bool],
                 fault_ttl_s: float) -> None:
        self.namespace, self._pods, self._links = namespace, pods, links
        self.chaos, self.fault_ttl_s = chaos, fault_ttl_s

    def pods(self, ids: list[str]) -> list[tuple[Workload, Pod]]:
        """The running pods of `ids`; `UnknownTarget` for an id the cluster lacks."""
        known = self._pods()
        picked = []
        for inst in ids:
            if inst not in known:
                raise UnknownTarget("instance", inst, sorted(known))
            workload, pod = known[inst]
            if pod is None:
                raise PlatformError(f"{inst} has no pod now; it cannot take a packet fault")
            picked.append((workload, pod))
        return picked

    def links(self) -> list[tuple[str, str, str]]:
        return self._links()

    def selector(self, pods: list[Pod]) -> dict[str, Any]:
        return {"pods": {self.namespace: [p.name for p in pods]}}

    def require_chaos(self, what: str) -> None:
        if not self.chaos():
            raise Unsupported(NAME, what, CHAOS_HINT)


class KubeNetwork(NetworkControl):
    def __init__(self, targets: Targets, objects: Objects) -> None:
        self.targets, self.objects = targets, objects

    def block(self, tag: str, sources: list[str], destinations: list[str],
              percent: float = 100.0) -> list[str]:
        if not 0 < percent <= 100:
            raise PlatformError(f"percent must be in (0, 100], got {percent}")
        src, dst = self.targets.pods(sources), self.targets.pods(destinations)
        if self.targets.chaos():
            wanted = [self._chaos(tag, s, dst, percent) for s in src]
        elif percent == 100 and all(w.kind == "StatefulSet" for w, _ in src + dst):
            wanted = [self._policy(tag, src, d) for d in dst]
        else:
            what = "a partition of a Deployment's pod" if percent == 100 else \
                f"dropping {percent:g}% of packets"
            raise Unsupported(NAME, what, f"{CHAOS_HINT}; without it only a full partition "
                              "between StatefulSet pods works (a NetworkPolicy)")
        return [m.rule for m in self.objects.create_all(wanted)]

    def _chaos(self, tag: str, src: tuple[Workload, Pod], dst: list[tuple[Workload, Pod]],
               percent: float) -> tuple[tuple[str, str], dict[str, Any]]:
        pods = [p for _, p in dst]
        spec: dict[str, Any] = {
            "action": "partition" if percent == 100 else "loss", "mode": "all",
            "selector": self.targets.selector([src[1]]), "direction": "to",
            "target": {"mode": "all", "selector": self.targets.selector(pods)}}
        if percent < 100:
            spec["loss"] = {"loss": f"{percent:g}", "correlation": "0"}
        rule = f"drop {percent:g}% from {src[1].name} to {', '.join(p.name for p in pods)}"
        body = chaos_body("networkchaos", spec, self.targets.fault_ttl_s)
        return NETCHAOS, self.objects.stamp(body, tag, rule, self.targets.fault_ttl_s)

    def _policy(self, tag: str, src: list[tuple[Workload, Pod]], dst: tuple[Workload, Pod]
                ) -> tuple[tuple[str, str], dict[str, Any]]:
        names = [p.name for _, p in src]
        body = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {},
                "spec": {"podSelector": {"matchLabels": {POD_NAME: dst[1].name}},
                         "policyTypes": ["Ingress"],
                         "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {
                             "matchExpressions": [{"key": POD_NAME, "operator": "NotIn",
                                                   "values": names}]}}]}]}}
        rule = f"drop 100% from {', '.join(names)} to {dst[1].name}"
        return NETPOL, self.objects.stamp(body, tag, rule, self.targets.fault_ttl_s)

    def unblock(self, tag: str) -> int:
        return self.objects.delete_tagged(tag, self._kinds())

    def active(self, tag: str) -> list[dict[str, Any]]:
        return [{"rule": m.rule, "handle": m.handle, "packets": None, "bytes": None}
                for m in self.objects.tagged(tag, self._kinds())]

    def _kinds(self) -> list[tuple[str, str]]:
        return [NETPOL, NETCHAOS] if self.targets.chaos() else [NETPOL]


def link_tag(client: str, server: str) -> str:
    return f"link.{client}.{server}"


class KubeLinks(LinkControl):
    def __init__(self, targets: Targets, objects: Objects) -> None:
        self.targets, self.objects = targets, objects

    def links(self) -> list[dict[str, Any]]:
        faults = self._faults()
        return [{"name": f"{c}->{s}", "client": c, "server": s, "port": port,
                 "fault": faults.get(link_tag(c, s))} for c, s, port in self.targets.links()]

    def _faults(self) -> dict[str, dict[str, Any]]:
        if not self.targets.chaos():
            return {}
        return {m.fault_id: json.loads(m.rule.split(" ", 1)[1]) for m in
                self.objects.tagged(None, [NETCHAOS]) if m.fault_id.startswith("link.")}

    def _link(self, link: str) -> tuple[str, str]:
        known = {f"{c}->{s}": (c, s) for c, s, _ in self.targets.links()}
        if link not in known:
            raise UnknownTarget("link", link, sorted(known))
        return known[link]

    def set_fault(self, link: str, spec: dict[str, Any]) -> dict[str, Any]:
        client, server = self._link(link)
        ttl = _check_link_spec(spec)
        self.targets.require_chaos("link faults")
        src, dst = self.targets.pods([client, server])
        self.clear(link)
        tag, rule = link_tag(client, server), f"link {json.dumps(spec, sort_keys=True)}"
        wanted = [(NETCHAOS, self.objects.stamp(chaos_body("networkchaos", {
            **action, "mode": "all", "selector": self.targets.selector([src[1]]),
            "direction": DIRECTIONS[spec.get("direction", "both")],
            "target": {"mode": "all", "selector": self.targets.selector([dst[1]])}}, ttl),
            tag, rule, ttl)) for action in _link_actions(spec)]
        self.objects.create_all(wanted)
        return {"name": link, "client": client, "server": server, "fault": dict(spec)}

    def clear(self, link: str) -> bool:
        client, server = self._link(link)
        if not self.targets.chaos():
            return False
        return self.objects.delete_tagged(link_tag(client, server), [NETCHAOS]) > 0


def _check_link_spec(spec: dict[str, Any]) -> float:
    extra = sorted(set(spec) - LINK_FIELDS)
    if extra:
        raise PlatformError(f"unknown link fault field {extra[0]!r}; fields: "
                            f"{', '.join(sorted(LINK_FIELDS))}")
    ttl = spec.get("ttl_s")
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
        raise PlatformError(f"ttl_s must be a number of seconds above 0, got {ttl!r}")
    if spec.get("direction", "both") not in DIRECTIONS:
        raise PlatformError(f"direction must be one of {', '.join(DIRECTIONS)}")
    if spec.get("reset") or spec.get("reset_probability"):
        raise Unsupported(NAME, "connection resets on a link",
                          "Chaos Mesh's NetworkChaos has no reset action")
    return float(ttl)


def _link_actions(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """One NetworkChaos action per effect asked for (a NetworkChaos holds one action)."""
    actions: list[dict[str, Any]] = []
    if spec.get("latency_ms") or spec.get("jitter_ms"):
        actions.append({"action": "delay", "delay": {
            "latency": f"{spec.get('latency_ms', 0)}ms", "jitter": f"{spec.get('jitter_ms', 0)}ms",
            "correlation": "0"}})
    if spec.get("bandwidth_kbps"):
        actions.append({"action": "bandwidth", "bandwidth": {
            "rate": f"{spec['bandwidth_kbps']}kbps", "limit": 20971520, "buffer": 10000}})
    if spec.get("blackhole"):
        actions.append({"action": "partition"})
    if not actions:
        raise PlatformError("a link fault needs latency_ms, jitter_ms, bandwidth_kbps or "
                            "blackhole")
    return actions


class KubeResources(ResourceControl):
    """StressChaos for the product's CPU burner and memory hog; the rest is `Unsupported`."""

    def __init__(self, targets: Targets, objects: Objects) -> None:
        self.targets, self.objects = targets, objects

    def set_cpu_limit(self, instance_id: str, cores: float | None) -> None:
        raise Unsupported(NAME, "capping an instance's CPU", "in-place pod resize is not "
                          "built; use cpu-burn (StressChaos) for CPU starvation")

    def cpu_limit(self, instance_id: str) -> float | None:
        raise Unsupported(NAME, "reading an instance's CPU cap", "CPU caps are not built")

    def spawn_helper(self, tag: str, instance_id: str | None, argv: list[str],
                     env: dict[str, str] | None = None) -> str:
        helper = next((a.rsplit(".", 1)[1] for a in argv
                       if a.startswith("controlplane.chaos.helpers.")), "")
        if instance_id is None or helper not in ("burn", "memhog"):
            raise Unsupported(NAME, f"running the helper {helper or argv[:1]!r}"
                              + ("" if instance_id else " beside no instance"),
                              "only the CPU burner and the memory hog map onto StressChaos")
        self.targets.require_chaos("CPU and memory stress")
        (_, pod), = self.targets.pods([instance_id])
        args = _flags(argv)
        ttl = float(args.get("--duration", self.targets.fault_ttl_s))
        stressors, rule = _stressors(helper, args)
        body = chaos_body("stresschaos", {"mode": "all",
                                          "selector": self.targets.selector([pod]),
                                          "stressors": stressors}, ttl)
        made, = self.objects.create_all([(STRESS, self.objects.stamp(
            body, tag, f"{rule} in {pod.name}", ttl))])
        return made.handle

    def helpers(self, tag: str) -> list[str]:
        if not self.targets.chaos():
            return []
        return [m.handle for m in self.objects.tagged(tag, [STRESS])]

    def helper_usage(self, tag: str) -> dict[str, float]:
        """How many run; their CPU seconds and memory cannot be read here (reported 0)."""
        return {"count": len(self.helpers(tag)), "cpu_seconds": 0.0, "resident_mb": 0.0}

    def stop_helpers(self, tag: str) -> int:
        if not self.targets.chaos():
            return 0
        return self.objects.delete_tagged(tag, [STRESS])

    def _no(self, what: str) -> Unsupported:
        return Unsupported(NAME, what, "not built: it needs a command run inside the pod "
                           "(pods/exec), which the controlplane Role does not grant")

    def freeze_processes(self, instance_id: str, match: str) -> int:
        raise self._no("freezing processes in a pod")

    def thaw_processes(self, instance_id: str, match: str) -> int:
        raise self._no("thawing processes in a pod")

    def process_states(self, instance_id: str, match: str) -> list[str]:
        raise self._no("reading a pod's process states")

    def fill_disk(self, tag: str, instance_id: str, megabytes: int) -> None:
        raise self._no("filling an instance's disk")

    def disk_fill_mb(self, tag: str, instance_id: str) -> float:
        raise self._no("measuring a disk fill")

    def clear_disk_fill(self, tag: str, instance_id: str) -> None:
        raise self._no("clearing a disk fill")

    def disk_free_mb(self, instance_id: str) -> float:
        raise self._no("reading an instance's free disk space")


def _flags(argv: list[str]) -> dict[str, str]:
    return {a: b for a, b in zip(argv, argv[1:], strict=False) if a.startswith("--")}


def _stressors(helper: str, args: dict[str, str]) -> tuple[dict[str, Any], str]:
    if helper == "burn":
        cores = float(args.get("--cores", "1"))
        workers = max(1, math.ceil(cores))
        load = max(1, min(100, round(100 * cores / workers)))
        return {"cpu": {"workers": workers, "load": load}}, f"burn {cores:g} CPUs"
    size = int(args.get("--megabytes", "256"))
    return {"memory": {"workers": 1, "size": f"{size}MB"}}, f"hold {size} MB"


class KubeServiceFaults(ServiceFaults):
    """Each testbed service's /admin/faults, through `call` (the platform's admin request)."""

    def __init__(self, call: Callable[..., Any]) -> None:
        self._call = call

    def set_fault(self, instance_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call(instance_id, "PUT", "/admin/faults", spec))

    def fault(self, instance_id: str) -> dict[str, Any] | None:
        return self._call(instance_id, "GET", "/admin/faults").get("fault")

    def clear(self, instance_id: str) -> bool:
        return bool(self._call(instance_id, "DELETE", "/admin/faults").get("cleared"))

