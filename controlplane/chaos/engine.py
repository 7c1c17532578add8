"""Injecting and reverting faults with a durable record: every fault is written to the store
BEFORE it is injected, verified by observation after, and reverted (idempotently) by its id,
by its run, or by `recover` after a crash."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.chaos.faults import FAULTS
from controlplane.chaos.faults.base import (
    Evidence,
    FaultKind,
    FaultTarget,
    resolve_target,
    wait_until,
)
from controlplane.errors import ControlPlaneError, InvalidInput, PlatformError
from controlplane.platform.base import Platform
from controlplane.store import Store
from controlplane.store.models import Fault

__all__ = ["FaultContext", "FaultEngine", "FaultFailed", "InjectedFault"]

VERIFY_TIMEOUT = 20.0


class FaultFailed(PlatformError):
    """A fault could not be injected, or did not take effect."""


@dataclass
class FaultContext:
    """What fault functions may use: the platform and the clock (and a per-thread store)."""

    platform: Platform
    store_path: Path
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._local = threading.local()

    @property
    def store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.store_path)
        return store


@dataclass(frozen=True)
class InjectedFault:
    id: int
    tag: str
    kind: str
    target: FaultTarget
    injected_at: float
    evidence: Evidence

    def as_dict(self) -> dict[str, Any]:
        return {"fault_id": self.id, "kind": self.kind, "target": self.target.as_dict(),
                "injected_at": self.injected_at, "evidence": self.evidence.as_dict()}


def tag_of(fault_id: int) -> str:
    return f"fault-{fault_id}"


class FaultEngine:
    def __init__(self, ctx: FaultContext) -> None:
        self.ctx = ctx

    @staticmethod
    def kind(name: str) -> FaultKind:
        if name not in FAULTS:
            raise InvalidInput("unknown fault kind", field="kind", value=name,
                               fix=f"Use one of: {', '.join(sorted(FAULTS))}")
        return FAULTS[name]

    def plan(self, kind: str, target: str, params: dict[str, Any] | None = None,
             pick: str = "one", source: str = "") -> tuple[FaultKind, FaultTarget, Any]:
        """Validate and resolve without acting (used by guardrails and dry runs)."""
        fk = self.kind(kind)
        parsed = fk.parse(params, source)
        resolved = resolve_target(self.ctx.platform, target, pick)
        if fk.components and resolved.kind not in fk.components:
            raise InvalidInput(f"{kind} does not apply to a {resolved.kind}", field="target",
                               value=target, fix=f"Use a component of kind: "
                               f"{', '.join(fk.components)}")
        if fk.needs_peer:
            peer = resolve_target(self.ctx.platform, parsed.peer, "all")
            resolved = FaultTarget(resolved.component, resolved.instances, resolved.kind,
                                   peer.instances)
        return fk, resolved, parsed

    def inject(self, kind: str, target: str, params: dict[str, Any] | None = None,
               run_id: str | None = None, pick: str = "one") -> InjectedFault:
        fk, resolved, parsed = self.plan(kind, target, params, pick)
        record = self.ctx.store.record_fault(kind, target, {
            "kind": kind, "target": resolved.as_dict(), "params": parsed.model_dump()},
            run_id=run_id)
        tag = tag_of(record.id)
        try:
            notes = fk.inject(self.ctx, resolved, parsed, tag) or {}
        except (ControlPlaneError, OSError) as err:
            self._undo_failed(fk, resolved, parsed, record, err)
            raise FaultFailed(f"{kind} on {target} failed: {err}") from err
        at = self.ctx.clock()
        self.ctx.store.mark_fault_injected(record.id, at)
        evidence = wait_until(
            lambda: fk.verify_injected(self.ctx, resolved, parsed, tag, notes), VERIFY_TIMEOUT)
        return InjectedFault(record.id, tag, kind, resolved, at, evidence)

    def _undo_failed(self, fk: FaultKind, target: FaultTarget, params: Any, record: Fault,
                     err: Exception) -> None:
        try:
            fk.revert(self.ctx, target, params, tag_of(record.id))
        except (ControlPlaneError, OSError):
            pass
        self.ctx.store.mark_fault_failed(record.id, f"injection failed: {err}")

    def revert(self, fault_id: int) -> Evidence:
        record = self.ctx.store.get_fault(fault_id)
        if record is None:
            raise InvalidInput("no such fault", field="fault_id", value=fault_id)
        if record.state not in ("pending", "injected"):
            return Evidence(True, f"already {record.state}")
        fk = self.kind(str(record.revert["kind"]))
        target = FaultTarget.from_dict(record.revert["target"])  # type: ignore[arg-type]
        params = fk.params(**record.revert["params"])             # type: ignore[arg-type]
        tag = tag_of(fault_id)
        try:
            fk.revert(self.ctx, target, params, tag)
            evidence = wait_until(lambda: fk.verify_reverted(self.ctx, target, params, tag),
                                  VERIFY_TIMEOUT)
        except (ControlPlaneError, OSError) as err:
            evidence = Evidence(False, f"revert failed: {err}")
        if evidence.ok:
            self.ctx.store.mark_fault_reverted(fault_id, self.ctx.clock(), evidence.as_dict())
        else:
            self.ctx.store.mark_fault_failed(fault_id, evidence.observed)
        return evidence

    def revert_run(self, run_id: str) -> dict[int, Evidence]:
        return {f.id: self.revert(f.id) for f in reversed(self.ctx.store.open_faults(run_id))}

    def recover(self) -> dict[int, Evidence]:
        """Revert every open fault, newest first (after a crash, or on `chaos halt`)."""
        return {f.id: self.revert(f.id) for f in reversed(self.ctx.store.open_faults())}
