"""How a fake instance lives: a life begins (new incarnation), ends (stop, crash, kill), the
restart policy decides what follows, and time moves it on (a backoff ends, a start becomes
ready). Also what the platform reports of it: health, role, `InstanceInfo`, `ComponentInfo`.

The same rules as the local supervisor's: `restart: always` brings any exit back, `on-failure`
any exit but 0, `never` none; every restart is counted, after a backoff (`backoff_s`, 0 by
default: at once). A frozen instance still runs but answers nothing.
"""

from __future__ import annotations

from controlplane.platform.base import ComponentInfo, Health, InstanceInfo
from controlplane.platform.fake.record import FakeCluster, FakeInstance
from controlplane.topology import Topology, parse_topology

__all__ = ["begin_life", "component_info", "end_life", "endpoints", "exit_with", "health",
           "incarnation_of", "instance_info", "settle", "topology_of"]

NOWHERE = "127.0.0.1:9"       # the discard port: nothing listens there, connections are refused
# the endpoints the local platform gives each kind; (port, is an http URL)
ENDPOINTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "ledger": (("postgres", False), ("api", True)),
    "haproxy": (("primary", False), ("stats", True)),
    "etcd": (("client", True),),
    "faultproxy": (("admin", True),),
    "controlplane": (("http", True), ("otlp", True)),
}
SIGKILL_EXIT, SIGTERM_EXIT = -9, -15     # exit codes of a death by signal, as asyncio gives


def topology_of(cluster: FakeCluster) -> Topology:
    """The topology as run (with the mesh's fault proxy, as on the local platform)."""
    return parse_topology(cluster.topology, "the fake cluster's record").effective()


def endpoints(inst: FakeInstance) -> dict[str, str]:
    """Addresses shaped like the local platform's, all on a port where nothing answers."""
    out = {}
    for port, is_url in ENDPOINTS.get(inst.kind, (("http", True),)):
        out[port] = f"http://{NOWHERE}/fake/{inst.id}" if is_url else NOWHERE
    if "otlp" in out:
        out["otlp"] = out["http"] + "/v1/traces"
    return out


# lives ------------------------------------------------------------------------------------
def begin_life(cluster: FakeCluster, inst: FakeInstance, at: float) -> None:
    """A new process: a new incarnation, no frozen state, an empty journal and no fault."""
    cluster.lives += 1
    inst.life, inst.started_at, inst.exit_code = cluster.lives, at, None
    inst.paused = inst.processes_frozen = False
    ready_after = cluster.options.get("ready_after_s", 0.0)
    inst.state, inst.due = ("starting", at + ready_after) if ready_after > 0 else ("running", None)
    cluster.journals[inst.id] = []
    cluster.service_faults.pop(inst.id, None)


def end_life(cluster: FakeCluster, inst: FakeInstance, state: str,
             exit_code: int | None) -> None:
    """The process is gone: what it held in memory (journal, self-injected fault) too."""
    inst.life, inst.state, inst.exit_code, inst.due = 0, state, exit_code, None
    inst.paused = inst.processes_frozen = False
    cluster.journals.pop(inst.id, None)
    cluster.service_faults.pop(inst.id, None)


def exit_with(cluster: FakeCluster, inst: FakeInstance, code: int, at: float) -> None:
    """The instance exited by itself (or was killed) with `code`: its restart policy applies."""
    policy = topology_of(cluster).services[inst.component].restart
    if policy == "never" or (policy == "on-failure" and code == 0):
        end_life(cluster, inst, "crashed" if code != 0 else "exited", code)
        return
    end_life(cluster, inst, "backoff", code)
    inst.restarts += 1
    backoff = cluster.options.get("backoff_s", 0.0)
    if backoff > 0:
        inst.due = at + backoff
    else:
        begin_life(cluster, inst, at)


def settle(cluster: FakeCluster, now: float) -> None:
    """Apply what time has done: backoffs over (restarted), starts ready, faults expired."""
    for inst in cluster.instances.values():
        while inst.due is not None and inst.due <= now:
            due = inst.due
            if inst.state == "backoff":
                begin_life(cluster, inst, due)
            else:
                inst.state, inst.due = "running", None
    for faults in (cluster.links, cluster.service_faults):
        for name in [n for n, f in faults.items() if f["until"] <= now]:
            del faults[name]


# what is reported -------------------------------------------------------------------------
def health(inst: FakeInstance, now: float) -> Health:
    if not inst.running:
        return Health(False, False, "", f"not running ({inst.state})", now)
    if inst.paused:
        return Health(False, False, inst.role, "frozen: no answer", now)
    if inst.state == "starting":
        return Health(True, False, "", "starting", now)
    return Health(True, True, inst.role, "running", now)


def incarnation_of(cluster: FakeCluster, inst: FakeInstance) -> str:
    return f"{cluster.run}-{inst.life}" if inst.running else ""


def instance_info(cluster: FakeCluster, inst: FakeInstance, now: float) -> InstanceInfo:
    return InstanceInfo(
        id=inst.id, component=inst.component, kind=inst.kind,
        state="paused" if inst.paused and inst.running else inst.state,
        running=inst.running, endpoints=endpoints(inst), health=health(inst, now),
        restarts=inst.restarts, started_at=inst.started_at, exit_code=inst.exit_code,
        log="", incarnation=incarnation_of(cluster, inst),
        handle=f"fake/{inst.id}" if inst.running else "")


def component_info(cluster: FakeCluster, topology: Topology, name: str,
                   now: float) -> ComponentInfo:
    svc = topology.services[name]
    insts = [i for i in cluster.instances.values() if i.component == name]
    healths = [health(i, now) for i in insts]
    if svc.kind == "ledger":
        roles = [h.role for h in healths if h.ready]
        ready = roles.count("primary") == 1 and (
            "sync_standby" in roles or not svc.typed_settings().synchronous_mode)
    else:
        ready = bool(healths) and all(h.ready for h in healths)
    return ComponentInfo(name=name, kind=svc.kind, tier=svc.tier, restart=svc.restart,
                         depends_on=list(svc.depends_on), instances=[i.id for i in insts],
                         ready=ready)
