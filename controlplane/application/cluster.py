"""The cluster use cases: start and stop a cluster, act on one instance, scale a component.

Progress of a start is the same `Event` stream every use case reports on; the doors render it.
Instance actions are named as people say them (`pause` is a freeze, not a signal) and map onto
the platform's intents, so a door never picks a platform method by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controlplane.application.events import Event, EventSink, discard
from controlplane.errors import InvalidInput
from controlplane.platform.base import ClusterInfo, DownReport, InstanceInfo, Platform
from controlplane.topology import Topology

__all__ = ["INSTANCE_ACTIONS", "act_on_instance", "scale_component", "start_cluster",
           "stop_cluster"]

INSTANCE_ACTIONS: dict[str, Callable[[Platform, str], InstanceInfo]] = {
    "stop": lambda p, i: p.stop(i),
    "start": lambda p, i: p.start(i),
    "kill": lambda p, i: p.kill(i),
    "terminate": lambda p, i: p.kill(i, graceful=True),
    "pause": lambda p, i: p.freeze(i),
    "resume": lambda p, i: p.thaw(i),
}


def progress_event(info: ClusterInfo) -> Event:
    """What a starting cluster looks like now, as an event."""
    ready = sum(1 for c in info.components if c.ready)
    return Event("cluster", "progress",
                 f"{info.phase}: {ready}/{len(info.components)} components ready - "
                 f"{info.detail}", data={"phase": info.phase, "ready": ready,
                                         "components": len(info.components),
                                         "detail": info.detail})


def start_cluster(platform: Platform, topology: Topology, sink: EventSink = discard,
                  **options: Any) -> ClusterInfo:
    """Bring `topology` up on `platform` and wait until every component is ready."""
    info = platform.up(topology, progress=lambda now: sink(progress_event(now)), **options)
    sink(Event("cluster", "ready", f"cluster {info.name} is {info.phase}",
               data={"phase": info.phase, "instances": len(info.instances)}))
    return info


def stop_cluster(platform: Platform, purge: bool = False,
                 sink: EventSink = discard) -> DownReport:
    """Stop the cluster, leaving nothing running (`purge`: and discard its data)."""
    report = platform.down(purge=purge)
    for what in report.swept:
        sink(Event("cluster", "swept", f"swept a leftover: {what}", data={"what": what}))
    return report


def act_on_instance(platform: Platform, action: str, instance_id: str) -> InstanceInfo:
    """One of INSTANCE_ACTIONS on one instance; the instance as it is afterwards."""
    act = INSTANCE_ACTIONS.get(action)
    if act is None:
        raise InvalidInput("unknown instance action", field="action", value=action,
                           fix=f"Use one of: {', '.join(INSTANCE_ACTIONS)}")
    return act(platform, instance_id)


def scale_component(platform: Platform, component: str, scale_in: bool = False) -> InstanceInfo:
    """One more instance of `component`, or (`scale_in`) one fewer, never the last."""
    return platform.scale_in(component) if scale_in else platform.scale(component)
