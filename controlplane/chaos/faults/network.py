"""Packet faults between components (nftables, matched by each instance's cgroup):
a partition both ways, and random packet loss."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from controlplane.chaos.faults.base import Evidence, FaultKind, FaultTarget, Timed, register

__all__ = ["PacketLoss", "Partition"]


class Partition(Timed):
    peer: str = Field(..., description="the component or instance on the other side")


class PacketLoss(Partition):
    percent: float = Field(10.0, gt=0, le=100)


def _block(percent_of):
    def inject(ctx, target: FaultTarget, params: Partition, tag: str) -> dict[str, Any]:
        net = ctx.platform.network()
        pct = percent_of(params)
        rules = net.block(tag, target.instances, target.peer, pct)
        rules += net.block(tag, target.peer, target.instances, pct)
        return {"rules": len(rules)}
    return inject


def _blocked(ctx, target: FaultTarget, params: Partition, tag: str, notes: dict) -> Evidence:
    active = ctx.platform.network().active(tag)
    want = notes.get("rules", len(target.instances) + len(target.peer))
    return Evidence(len(active) == want, f"{len(active)} of {want} rules in force",
                    {"rules": active})


def _unblock(ctx, target: FaultTarget, params: Partition, tag: str) -> None:
    ctx.platform.network().unblock(tag)


def _unblocked(ctx, target: FaultTarget, params: Partition, tag: str) -> Evidence:
    active = ctx.platform.network().active(tag)
    return Evidence(not active, "no rule left" if not active else f"{len(active)} rules left")


register(FaultKind("network-partition", "drop every packet between the target and `peer`, "
                   "both ways", Partition, (), _block(lambda p: 100.0), _blocked, _unblock,
                   _unblocked, needs_peer=True, category="network"))
register(FaultKind("network-loss", "drop `percent` % of the packets between the target and "
                   "`peer`, both ways", PacketLoss, (), _block(lambda p: p.percent), _blocked,
                   _unblock, _unblocked, needs_peer=True, category="network"))
