"""Faults on dependency links, applied by the mesh (the fault proxy on every link): latency,
jitter, a bandwidth cap, connection resets, and a blackhole (a hang, not a refusal).

Every spec sent to the proxy carries a ttl a little longer than the fault, so the proxy undoes
it by itself even if nobody is left to revert it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controlplane.chaos.faults.base import Evidence, FaultKind, FaultTarget, Timed, register
from controlplane.errors import InvalidInput

__all__ = ["SAFETY_TTL_MARGIN_S", "links_between"]

SAFETY_TTL_MARGIN_S = 30


class LinkFault(Timed):
    peer: str = Field(..., description="the other end of the link(s)")
    direction: Literal["upstream", "downstream", "both"] = "both"


class Latency(LinkFault):
    latency_ms: float = Field(100, gt=0, le=60_000)


class Jitter(LinkFault):
    latency_ms: float = Field(50, ge=0, le=60_000)
    jitter_ms: float = Field(50, gt=0, le=60_000)


class Bandwidth(LinkFault):
    bandwidth_kbps: float = Field(256, gt=0, le=10_000_000)


class Reset(LinkFault):
    probability: float = Field(1.0, gt=0, le=1)


def links_between(ctx, target: FaultTarget) -> list[str]:
    ends = set(target.instances), set(target.peer)
    found = [link["name"] for link in ctx.platform.links().links()
             if (link["client"] in ends[0] and link["server"] in ends[1])
             or (link["client"] in ends[1] and link["server"] in ends[0])]
    if not found:
        raise InvalidInput("no mesh link between these instances", field="parameters.peer",
                           value=f"{target.instances} <-> {target.peer}",
                           fix="Pick a dependency: gateway-matcher, gateway-marketdata, "
                           "gateway-ledger-proxy, matcher-ledger-proxy or matcher-marketdata")
    return sorted(found)


def _spec_of(params: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"ttl_s": params.duration_s + SAFETY_TTL_MARGIN_S}
    if isinstance(params, Latency | Jitter):
        spec.update(latency_ms=params.latency_ms, direction=params.direction)
    if isinstance(params, Jitter):
        spec["jitter_ms"] = params.jitter_ms
    if isinstance(params, Bandwidth):
        spec.update(bandwidth_kbps=params.bandwidth_kbps, direction=params.direction)
    if isinstance(params, Reset):
        spec.update({"reset": True} if params.probability >= 1
                    else {"reset_probability": params.probability})
    if type(params) is LinkFault:
        spec["blackhole"] = True
    return spec


def _inject(ctx, target: FaultTarget, params: LinkFault, tag: str) -> dict[str, Any]:
    names = links_between(ctx, target)
    for name in names:
        ctx.platform.links().set_fault(name, _spec_of(params))
    return {"links": names}


def _faulted(ctx) -> dict[str, Any]:
    return {link["name"]: link.get("fault") for link in ctx.platform.links().links()}


def _in_force(ctx, target, params: LinkFault, tag: str, notes: dict) -> Evidence:
    now = _faulted(ctx)
    names = notes.get("links", [])
    ok = bool(names) and all(now.get(n) for n in names)
    return Evidence(ok, f"fault on {names}: {[now.get(n) for n in names]}", {"links": names})


def _clear(ctx, target: FaultTarget, params: LinkFault, tag: str) -> None:
    for name in links_between(ctx, target):
        ctx.platform.links().clear(name)


def _cleared(ctx, target: FaultTarget, params: LinkFault, tag: str) -> Evidence:
    now = _faulted(ctx)
    left = [n for n in links_between(ctx, target) if now.get(n)]
    return Evidence(not left, "links clear" if not left else f"still faulted: {left}")


def _kind(name: str, summary: str, params: type[LinkFault]) -> None:
    register(FaultKind(name, summary, params, (), _inject, _in_force, _clear, _cleared,
                       needs_peer=True, category="network"))


_kind("network-latency", "add `latency_ms` to every round trip on the links between the target "
      "and `peer`", Latency)
_kind("network-jitter", "add `latency_ms` +- `jitter_ms` (uniform, never reordering) on the "
      "links", Jitter)
_kind("network-bandwidth", "cap the links at `bandwidth_kbps` per connection and direction",
      Bandwidth)
_kind("network-reset", "reset (RST) connections on the links, every one or with "
      "`probability`", Reset)
_kind("network-blackhole", "swallow every byte on the links: connections stay open and hang",
      LinkFault)
