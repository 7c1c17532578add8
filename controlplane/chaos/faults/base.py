"""The fault registry: each kind of fault is a typed-parameters model plus four functions:
inject, verify_injected, revert, verify_reverted. Verification observes the cluster; it never
trusts the return value of the action."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from controlplane.errors import InvalidInput, UnknownTarget
from controlplane.platform.base import InstanceInfo, Platform

__all__ = ["FAULTS", "Evidence", "FaultKind", "FaultTarget", "Params", "Timed", "register",
           "resolve_target", "wait_until"]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timed(Params):
    """Faults that last: the runner reverts them after `duration_s` (rollbacks too)."""

    duration_s: float = Field(30.0, gt=0, le=3600)


@dataclass(frozen=True)
class FaultTarget:
    """What a fault acts on, resolved at injection and recorded with the fault."""

    component: str
    instances: list[str]
    kind: str                                   # the component's kind (gateway, ledger, ...)
    peer: list[str] = field(default_factory=list)   # the other side of a network fault

    def as_dict(self) -> dict[str, Any]:
        return {"component": self.component, "instances": self.instances, "kind": self.kind,
                "peer": self.peer}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultTarget:
        return cls(data["component"], list(data["instances"]), data["kind"],
                   list(data.get("peer", [])))


@dataclass(frozen=True)
class Evidence:
    ok: bool
    observed: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "observed": self.observed, **self.data}


Ctx = Any   # controlplane.chaos.engine.FaultContext (kept loose to avoid an import cycle)


@dataclass(frozen=True)
class FaultKind:
    name: str
    summary: str
    params: type[Params]
    components: tuple[str, ...]                 # component kinds it applies to; () = any
    # inject returns notes (what it saw before acting) that only verify_injected receives;
    # revert and verify_reverted get nothing but the record, so they work after a crash.
    inject: Callable[[Ctx, FaultTarget, Params, str], dict[str, Any]]
    verify_injected: Callable[[Ctx, FaultTarget, Params, str, dict[str, Any]], Evidence]
    revert: Callable[[Ctx, FaultTarget, Params, str], None]
    verify_reverted: Callable[[Ctx, FaultTarget, Params, str], Evidence]
    needs_peer: bool = False
    category: str = "process"

    def describe(self) -> dict[str, Any]:
        """The kind as `chaos faults --json` and `chaos discover` show it (JSON-ready)."""
        schema = self.params.model_json_schema()
        return {"kind": self.name, "summary": self.summary, "category": self.category,
                "applies_to": list(self.components) or ["any"], "needs_peer": self.needs_peer,
                "parameters": schema.get("properties", {}),
                "required": schema.get("required", [])}

    def parse(self, params: dict[str, Any] | None, source: str = "") -> Params:
        from pydantic import ValidationError

        try:
            return self.params(**(params or {}))
        except ValidationError as err:
            e = err.errors()[0]
            loc = ".".join(str(p) for p in e["loc"])
            raise InvalidInput(e["msg"], source=source, field=f"parameters.{loc}",
                               value=e.get("input") if e["type"] != "missing" else None,
                               fix=f"Parameters of {self.name}: "
                               f"{', '.join(self.params.model_fields) or '(none)'}") from None


FAULTS: dict[str, FaultKind] = {}


def register(kind: FaultKind) -> FaultKind:
    if kind.name in FAULTS:
        raise ValueError(f"fault kind {kind.name!r} registered twice")
    FAULTS[kind.name] = kind
    return kind


def resolve_target(platform: Platform, target: str, pick: str = "one",
                   rng: random.Random | None = None) -> FaultTarget:
    """`gateway` (one instance, or all with pick=all), `gateway-0`, `ledger:primary`,
    `ledger:standby`."""
    info = platform.info()
    comps = {c.name: c for c in info.components}
    name, _, role = target.partition(":")
    if name in comps:
        insts = info.of_component(name)
        if role:
            insts = _by_role(insts, role, target)
        elif pick == "one" and insts:
            insts = [(rng or random).choice(insts)]
        return FaultTarget(name, [i.id for i in insts], comps[name].kind)
    for inst in info.instances:
        if inst.id == target:
            return FaultTarget(inst.component, [inst.id], inst.kind)
    valid = sorted(comps) + sorted(i.id for i in info.instances) + ["ledger:primary",
                                                                    "ledger:standby"]
    raise UnknownTarget("target", target, valid)


def _by_role(insts: list[InstanceInfo], role: str, target: str) -> list[InstanceInfo]:
    wanted = {"primary": ("primary",), "standby": ("sync_standby", "standby")}.get(role)
    if wanted is None:
        raise InvalidInput("unknown role", field="target", value=target,
                           fix="Use :primary or :standby")
    found = [i for i in insts if i.health.role in wanted]
    if not found:
        raise InvalidInput(f"no instance has the role {role} now", field="target", value=target,
                           fix="Check `controlplane cluster status`")
    return found[:1]


def wait_until(check: Callable[[], Evidence], timeout: float, interval: float = 0.2) -> Evidence:
    """Poll an observation until it holds or the timeout passes; the last evidence."""
    deadline = time.monotonic() + timeout
    while True:
        evidence = check()
        if evidence.ok or time.monotonic() >= deadline:
            return evidence
        time.sleep(interval)
