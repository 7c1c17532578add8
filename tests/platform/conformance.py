"""The behaviour every platform keeps, checked through the contract only
(`controlplane.platform.base`): no pid, path, signal or file of any platform appears here.

A platform's test module subclasses `PlatformConformance` (as `Test<Name>Conformance`) and
provides two fixtures:

    platform       a platform running `conformance_topology(<its name>)`, module-scoped
    new_platform   a factory: each call gives a platform in a fresh workspace, not started;
                   the fixture tears down whatever it started

and declares in `UNSUPPORTED` which of `CAPABILITIES` it lacks. The tests share the running
cluster, so each leaves it as it found it (every instance running and ready). Waits are bounded
(`WAIT_S`); nothing here asserts how fast a platform is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from controlplane.errors import NotFound, PlatformError, Refused, Unreachable, Unsupported
from controlplane.platform import InstanceInfo, Platform
from controlplane.platform.base import LinkControl, NetworkControl, ResourceControl, ServiceFaults
from controlplane.topology import Topology, parse_topology
from tests.support.net import wait_for

__all__ = ["CAPABILITIES", "PlatformConformance", "conformance_topology", "tiny_topology"]

RESTARTING = "marketdata-0"     # restart: always
STOPPABLE = "gateway-0"         # nothing depends on it; restart: on-failure
SCALABLE = "marketdata"
LINK = "gateway-0->matcher-0"
UNKNOWN = "nope-7"


def conformance_topology(platform: str) -> Topology:
    """A small cluster with what every check needs: a ledger (roles), a restart-always
    service, a scalable one, testbed services (service faults) and mesh links."""
    return parse_topology({
        "name": "conformance", "platform": platform, "mesh": True,
        "services": {
            "etcd": {"kind": "etcd", "tier": "infrastructure", "restart": "always"},
            "ledger": {"kind": "ledger", "tier": "critical", "instances": 2,
                       "restart": "never", "depends_on": ["etcd"],
                       "settings": {"ttl": 20, "loop_wait": 1, "retry_timeout": 3}},
            "ledger-proxy": {"kind": "haproxy", "tier": "critical", "restart": "always",
                             "depends_on": ["ledger"]},
            "marketdata": {"kind": "marketdata", "restart": "always"},
            "matcher": {"kind": "matcher", "tier": "critical",
                        "depends_on": ["ledger-proxy", "marketdata"]},
            "gateway": {"kind": "gateway", "tier": "critical",
                        "depends_on": ["matcher", "marketdata", "ledger-proxy"]},
        }}, "the conformance topology")


def tiny_topology(platform: str) -> Topology:
    """One market-data instance: the quickest cluster to bring up and down."""
    return parse_topology({"name": "conformance-tiny", "platform": platform,
                           "services": {"marketdata": {"kind": "marketdata"}}},
                          "the tiny conformance topology")


@dataclass(frozen=True)
class Capability:
    """A capability a platform may lack: how to ask for it, whether asking changes the
    cluster (then a platform that has it is checked by its own tests), and what it answers."""

    call: Callable[[Platform], Any]
    disruptive: bool = False
    answers: Callable[[Any], bool] = lambda result: result is not None


CAPABILITIES: dict[str, Capability] = {
    "fencing": Capability(lambda p: p.fence("ledger-0"), disruptive=True),
    "freezing": Capability(lambda p: p.freeze(STOPPABLE), disruptive=True),
    "scaling the ledger": Capability(lambda p: p.scale("ledger"), disruptive=True),
    "a ledger DSN": Capability(lambda p: p.ledger_dsn(),
                               answers=lambda dsn: dsn.startswith("postgresql://")),
    "a ledger node's DSN": Capability(lambda p: p.ledger_admin_dsn("ledger-0"),
                                      answers=lambda dsn: dsn.startswith("postgresql://")),
    "a gateway's journal": Capability(
        lambda p: p.admin_request(STOPPABLE, "GET", "/admin/acks?since=0"),
        answers=lambda journal: isinstance(journal["acks"], list)),
}

UNKNOWN_INSTANCE: dict[str, Callable[[Platform], Any]] = {
    "stop": lambda p: p.stop(UNKNOWN),
    "start": lambda p: p.start(UNKNOWN),
    "kill": lambda p: p.kill(UNKNOWN),
    "kill graceful": lambda p: p.kill(UNKNOWN, graceful=True),
    "freeze": lambda p: p.freeze(UNKNOWN),
    "thaw": lambda p: p.thaw(UNKNOWN),
    "confirm_dead": lambda p: p.confirm_dead(UNKNOWN),
    "confirm_dead of a life": lambda p: p.confirm_dead(UNKNOWN, "some-life"),
    "health": lambda p: p.health(UNKNOWN),
    "admin request": lambda p: p.admin_request(UNKNOWN, "GET", "/admin/faults"),
    "network block": lambda p: p.network().block("conformance-unknown", [UNKNOWN],
                                                 [STOPPABLE]),
    "service fault": lambda p: p.service_faults().set_fault(UNKNOWN, {"ttl_s": 5}),
    "scale": lambda p: p.scale(UNKNOWN),
    "scale_in": lambda p: p.scale_in(UNKNOWN),
}


class PlatformConformance:
    UNSUPPORTED: frozenset[str] = frozenset()
    WAIT_S = 90.0          # bound on any wait for the cluster to get somewhere
    SETTLE_S = 0.0         # time for a restart policy to act, when checking that it did not
    FENCED_STAYS_DOWN = True   # a fenced instance waits for `start` (not where a controller
                               # recreates it, as a StatefulSet does a deleted pod)

    # helpers ----------------------------------------------------------------------------
    def _wait(self, what: str, probe: Callable[[], Any]) -> Any:
        return wait_for(what, probe, timeout=self.WAIT_S, interval=0.2)

    def _instance(self, platform: Platform, instance_id: str) -> InstanceInfo:
        return platform.info().known(instance_id)

    def _ready(self, platform: Platform, instance_id: str) -> InstanceInfo:
        def probe() -> InstanceInfo | None:
            inst = self._instance(platform, instance_id)
            return inst if inst.running and inst.health.ready else None
        return self._wait(f"{instance_id} running and ready", probe)

    def _new_life(self, platform: Platform, before: InstanceInfo) -> InstanceInfo:
        """The instance running and ready again, as another life than `before`."""
        def probe() -> InstanceInfo | None:
            inst = self._instance(platform, before.id)
            fresh = inst.incarnation not in ("", before.incarnation)
            return inst if fresh and inst.running and inst.health.ready else None
        return self._wait(f"{before.id} back as a new life", probe)

    def _restore(self, platform: Platform, instance_id: str) -> None:
        """Leave the instance running and ready, whatever a test did to it."""
        inst = self._instance(platform, instance_id)
        if inst.state == "paused":
            platform.thaw(instance_id)
        elif not inst.running and inst.state in ("stopped", "exited", "crashed", "failed"):
            platform.start(instance_id)
        self._ready(platform, instance_id)

    # what the cluster is ----------------------------------------------------------------
    def test_info_lists_every_instance_of_the_topology_with_its_component(
            self, platform: Platform) -> None:
        topology, info = platform.topology(), platform.info()
        assert (topology.name, info.platform, info.phase) == ("conformance", platform.name,
                                                              "ready")
        expected = {n: topology.instance_ids(n) for n in topology.services}
        assert {c.name: c.instances for c in info.components} == expected
        assert sorted(i.id for i in info.instances) == sorted(sum(expected.values(), []))
        for inst in info.instances:
            assert inst.kind == topology.services[inst.component].kind, inst
        for comp in info.components:
            svc = topology.services[comp.name]
            assert (comp.kind, comp.restart, comp.depends_on) == (
                svc.kind, svc.restart, svc.depends_on)

    def test_every_instance_runs_ready_as_one_life_with_a_handle(
            self, platform: Platform) -> None:
        for inst in platform.info().instances:
            self._ready(platform, inst.id)
        insts = platform.info().instances
        assert all(i.state == "running" and i.incarnation and i.handle for i in insts), insts
        assert len({i.incarnation for i in insts}) == len(insts)
        assert [i.id for i in platform.instances(SCALABLE)] == [f"{SCALABLE}-0"]

    def test_the_ledger_has_one_primary_and_a_sync_standby(self, platform: Platform) -> None:
        def roles() -> list[str] | None:
            found = sorted(i.health.role for i in platform.instances("ledger")
                           if i.health.ready)
            return found if found == ["primary", "sync_standby"] else None
        assert self._wait("a primary and a sync standby", roles)
        self._wait("the ledger ready", lambda: next(
            c for c in platform.components() if c.name == "ledger").ready)

    @pytest.mark.parametrize("action", sorted(UNKNOWN_INSTANCE))
    def test_an_unknown_instance_or_component_is_not_found(
            self, platform: Platform, action: str) -> None:
        with pytest.raises(NotFound) as err:
            UNKNOWN_INSTANCE[action](platform)
        assert err.value.name == UNKNOWN and err.value.valid, err.value
        assert isinstance(err.value, PlatformError)

    # lives ------------------------------------------------------------------------------
    @pytest.mark.parametrize("graceful", [False, True], ids=["kill", "graceful"])
    def test_a_killed_restart_always_instance_comes_back_as_a_new_life(
            self, platform: Platform, graceful: bool) -> None:
        before = self._ready(platform, RESTARTING)
        try:
            platform.kill(RESTARTING, graceful=graceful)
            after = self._new_life(platform, before)
            assert after.restarts > before.restarts
            assert platform.confirm_dead(RESTARTING, before.incarnation).dead
            assert not platform.confirm_dead(RESTARTING, after.incarnation).dead
            assert not platform.confirm_dead(RESTARTING).dead
        finally:
            self._restore(platform, RESTARTING)

    def test_a_stopped_instance_stays_down_until_started(self, platform: Platform) -> None:
        before = self._ready(platform, STOPPABLE)
        try:
            stopped = platform.stop(STOPPABLE)
            assert not stopped.running and stopped.state == "stopped"
            time.sleep(self.SETTLE_S)              # a restart policy would have acted by now
            now = self._instance(platform, STOPPABLE)
            assert (now.running, now.state, now.incarnation) == (False, "stopped", "")
            assert not platform.health(STOPPABLE).ready
            assert platform.confirm_dead(STOPPABLE).dead
            assert platform.confirm_dead(STOPPABLE, before.incarnation).dead
            with pytest.raises(Refused):
                platform.kill(STOPPABLE)
            platform.start(STOPPABLE)
            self._new_life(platform, before)
            with pytest.raises(Refused):
                platform.start(STOPPABLE)          # already running
        finally:
            self._restore(platform, STOPPABLE)

    def test_confirm_dead_is_false_while_it_runs(self, platform: Platform) -> None:
        inst = self._ready(platform, STOPPABLE)
        assert not platform.confirm_dead(STOPPABLE).dead
        assert not platform.confirm_dead(STOPPABLE, inst.incarnation).dead

    def test_a_frozen_instance_runs_unready_until_thawed(self, platform: Platform) -> None:
        if "freezing" in self.UNSUPPORTED:
            pytest.skip(f"{platform.name} cannot freeze; the capability test checks it says so")
        before = self._ready(platform, STOPPABLE)
        try:
            assert platform.freeze(STOPPABLE).running
            self._wait("unready while frozen", lambda: not platform.health(STOPPABLE).ready)
            frozen = self._instance(platform, STOPPABLE)
            assert (frozen.state, frozen.running) == ("paused", True)
            assert not platform.confirm_dead(STOPPABLE).dead
            states = platform.resources().process_states(STOPPABLE, "")
            assert states and set(states) == {"frozen"}, states
            platform.thaw(STOPPABLE)
            after = self._ready(platform, STOPPABLE)
            assert (after.state, after.incarnation, after.restarts) == (
                "running", before.incarnation, before.restarts)     # a hang, not a restart
            assert set(platform.resources().process_states(STOPPABLE, "")) == {"running"}
        finally:
            self._restore(platform, STOPPABLE)

    def test_a_fenced_instance_is_dead_frozen_or_not_and_stays_down(
            self, platform: Platform) -> None:
        """The fence of a hung primary: frozen processes die without being thawed, nothing
        of that life is left, and (where the platform keeps it down) no restart policy
        brings it back before `start`."""
        if "fencing" in self.UNSUPPORTED:
            pytest.skip(f"{platform.name} cannot fence")
        before = self._ready(platform, STOPPABLE)
        try:
            if "freezing" not in self.UNSUPPORTED:
                platform.freeze(STOPPABLE)
            fenced = platform.fence(STOPPABLE)
            assert platform.confirm_dead(STOPPABLE, before.incarnation).dead
            if self.FENCED_STAYS_DOWN:
                assert not fenced.running and fenced.state == "stopped"
                time.sleep(self.SETTLE_S)          # a restart policy would have acted by now
                assert platform.confirm_dead(STOPPABLE).dead
                assert not self._instance(platform, STOPPABLE).running
                platform.start(STOPPABLE)
            after = self._new_life(platform, before)
            if "freezing" not in self.UNSUPPORTED:        # nothing of the new life frozen
                assert set(platform.resources().process_states(STOPPABLE, "")) == {"running"}
            assert not platform.confirm_dead(STOPPABLE, after.incarnation).dead
        finally:
            self._restore(platform, STOPPABLE)

    # scaling ----------------------------------------------------------------------------
    def test_scale_adds_an_instance_and_scale_in_removes_it_never_the_last(
            self, platform: Platform) -> None:
        before = [i.id for i in platform.instances(SCALABLE)]
        added = platform.scale(SCALABLE)
        try:
            assert added.component == SCALABLE and added.id not in before
            self._ready(platform, added.id)
            assert [i.id for i in platform.instances(SCALABLE)] == [*before, added.id]
        finally:
            removed = platform.scale_in(SCALABLE)
        assert removed.id == added.id and not removed.running
        assert [i.id for i in platform.instances(SCALABLE)] == before
        with pytest.raises(Refused):
            platform.scale_in(SCALABLE)            # the last one stays
        assert [i.id for i in platform.instances(SCALABLE)] == before

    # fault controls ---------------------------------------------------------------------
    def test_every_fault_control_is_there(self, platform: Platform) -> None:
        assert isinstance(platform.network(), NetworkControl)
        assert isinstance(platform.resources(), ResourceControl)
        assert isinstance(platform.links(), LinkControl)
        assert isinstance(platform.service_faults(), ServiceFaults)

    def test_network_rules_are_tagged_and_removed_idempotently(
            self, platform: Platform) -> None:
        net, tag = platform.network(), "conformance-net"
        try:
            rules = net.block(tag, [STOPPABLE], ["matcher-0"])
            assert rules and all(isinstance(r, str) for r in rules)
            active = net.active(tag)
            assert len(active) == len(rules) and all("packets" in r for r in active)
            assert net.active("conformance-other") == []
            assert net.unblock(tag) == len(rules)
            assert (net.unblock(tag), net.active(tag)) == (0, [])
            with pytest.raises(PlatformError):
                net.block(tag, [STOPPABLE], ["matcher-0"], percent=0)
            assert net.active(tag) == []
        finally:
            net.unblock(tag)

    def test_a_service_fault_is_set_read_and_cleared(self, platform: Platform) -> None:
        faults = platform.service_faults()
        try:
            faults.set_fault(STOPPABLE, {"error_rate": 0.5, "ttl_s": 60})
            now = faults.fault(STOPPABLE)
            assert now is not None and (now["error_rate"], now["ttl_s"]) == (0.5, 60)
            assert faults.clear(STOPPABLE) is True
            assert faults.fault(STOPPABLE) is None
            assert faults.clear(STOPPABLE) is False           # idempotent
        finally:
            faults.clear(STOPPABLE)

    def test_a_link_fault_is_set_and_cleared(self, platform: Platform) -> None:
        links = platform.links()
        names = {link["name"]: link for link in links.links()}
        assert LINK in names and (names[LINK]["client"], names[LINK]["server"]) == (
            "gateway-0", "matcher-0")
        try:
            links.set_fault(LINK, {"latency_ms": 50, "ttl_s": 60})
            fault = {link["name"]: link["fault"] for link in links.links()}[LINK]
            assert fault is not None and fault["latency_ms"] == 50
            assert links.clear(LINK) is True
            assert {link["name"]: link["fault"] for link in links.links()}[LINK] is None
            assert links.clear(LINK) is False                  # idempotent
        finally:
            links.clear(LINK)
        with pytest.raises(NotFound):
            links.set_fault("gateway-0->nowhere-0", {"latency_ms": 5, "ttl_s": 5})

    @pytest.mark.parametrize("capability", sorted(CAPABILITIES))
    def test_a_capability_is_there_or_unsupported_never_missing(
            self, platform: Platform, capability: str) -> None:
        wanted = CAPABILITIES[capability]
        if capability in self.UNSUPPORTED:
            with pytest.raises(Unsupported) as err:
                wanted.call(platform)
            assert err.value.platform == platform.name and err.value.capability
            assert isinstance(err.value, PlatformError)
        elif wanted.disruptive:
            pytest.skip(f"{platform.name} supports {capability}; its own tests exercise it")
        else:
            assert wanted.answers(wanted.call(platform))

    # the cluster as a whole -------------------------------------------------------------
    def test_down_stops_the_cluster_and_is_up_says_so(
            self, new_platform: Callable[[], Platform]) -> None:
        platform = new_platform()
        assert not platform.is_up()
        info = platform.up(tiny_topology(platform.name))
        assert info.phase == "ready" and platform.is_up()
        assert platform.down().stopped
        assert not platform.is_up()
        with pytest.raises(Unreachable):
            platform.info()
        assert not platform.down().stopped                   # nothing left to stop
