"""Injecting and reverting faults with a durable record: every fault is written to the store
BEFORE it is injected, with its expiry and its owner (this process), verified by observation
after, and reverted (idempotently) by its id, by its run, by `recover` after a crash, or by the
supervisor's reaper once it expired or its owner died (`controlplane.chaos.reaper`)."""

from __future__ import annotations

import logging
import os
import socket
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
    Params,
    resolve_target,
    wait_until,
)
from controlplane.chaos.faults.links import SAFETY_TTL_MARGIN_S
from controlplane.errors import ControlPlaneError, InvalidInput, PlatformError
from controlplane.platform.base import Platform
from controlplane.store import Store
from controlplane.store.models import Fault

__all__ = ["EXPIRY_MARGIN_S", "ONE_SHOT_TTL_S", "FaultContext", "FaultEngine", "FaultFailed",
           "InjectedFault", "ttl_of"]

VERIFY_TIMEOUT = 20.0
# A lasting fault expires this long after its duration_s, counted from its record (made before
# injection): time to inject and verify it (VERIFY_TIMEOUT), then the mesh's own margin for the
# steady-state check chaoslib runs after the method and for the rollback. Past it, its runner is
# late or gone, and the reaper reverts it.
EXPIRY_MARGIN_S = VERIFY_TIMEOUT + SAFETY_TTL_MARGIN_S
# A one-shot fault (a kill) is over at once; what reverting it does is start an instance that
# its restart policy left down. The reaper does that this long after the kill if nobody did.
ONE_SHOT_TTL_S = 120.0
log = logging.getLogger(__name__)


def ttl_of(params: Params) -> float:
    """How long after its record a fault with these parameters must be undone by."""
    duration = getattr(params, "duration_s", None)
    return ONE_SHOT_TTL_S if duration is None else float(duration) + EXPIRY_MARGIN_S


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
            run_id=run_id, ttl_s=ttl_of(parsed), owner_pid=os.getpid(),
            owner_host=socket.gethostname())
        tag = tag_of(record.id)
        try:
            notes = fk.inject(self.ctx, resolved, parsed, tag) or {}
        except (ControlPlaneError, OSError) as err:
            self._undo_failed(fk, resolved, parsed, record, err)
            raise FaultFailed(f"{kind} on {target} failed: {err}") from err
        at = self.ctx.clock()
        try:
            self.ctx.store.mark_fault_injected(record.id, at)
        except InvalidInput:        # a halt or the reaper closed the record as we injected
            self._undo_closed(fk, resolved, parsed, record.id)
            raise FaultFailed(f"{kind} on {target} was closed (a halt or the reaper reverted "
                              "its record) while it was being injected; undone") from None
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

    def _undo_closed(self, fk: FaultKind, target: FaultTarget, params: Any,
                     fault_id: int) -> None:
        """Take back an injection whose record someone closed meanwhile: its reverter saw a
        pending fault with nothing yet to revert, and nobody else would undo it."""
        try:
            fk.revert(self.ctx, target, params, tag_of(fault_id))
        except (ControlPlaneError, OSError):
            log.exception("fault #%d: could not undo an injection closed meanwhile", fault_id)

    def revert(self, fault_id: int, why: str | None = None) -> Evidence:
        """Revert one fault and verify it by observation; `why` (e.g. the reaper's reason) is
        kept with the result. Safe to race: whoever closes the record second is told so."""
        record = self.ctx.store.get_fault(fault_id)
        if record is None:
            raise InvalidInput("no such fault", field="fault_id", value=fault_id)
        if record.state not in ("pending", "injected"):
            return Evidence(True, f"already {record.state}")
        parsed = self._parsed(record)
        if parsed is None:                  # e.g. a drill's: its owner reverts it
            return Evidence(False, "the record does not say how to revert it (it was not "
                            "injected by the fault engine; its owner reverts it)")
        fk, target, params = parsed
        tag = tag_of(fault_id)
        try:
            fk.revert(self.ctx, target, params, tag)
            evidence = wait_until(lambda: fk.verify_reverted(self.ctx, target, params, tag),
                                  VERIFY_TIMEOUT)
        except (ControlPlaneError, OSError) as err:
            evidence = Evidence(False, f"revert failed: {err}")
        if why:
            evidence = Evidence(evidence.ok, evidence.observed, {**evidence.data, "why": why})
        return self._close(fault_id, evidence)

    def observe_reverted(self, fault_id: int) -> Evidence:
        """One look at the cluster, acting on nothing: is this fault's effect gone? (For a
        halt's evidence about faults that their runners reverted.)"""
        record = self.ctx.store.get_fault(fault_id)
        if record is None:
            raise InvalidInput("no such fault", field="fault_id", value=fault_id)
        parsed = self._parsed(record)
        if parsed is None:
            return Evidence(False, "the record does not say what the fault did")
        fk, target, params = parsed
        try:
            return fk.verify_reverted(self.ctx, target, params, tag_of(fault_id))
        except (ControlPlaneError, OSError) as err:
            return Evidence(False, f"could not observe it: {err}")

    def _parsed(self, record: Fault) -> tuple[FaultKind, FaultTarget, Params] | None:
        """The kind, target and parameters a fault engine's record keeps; None for another's."""
        if not {"kind", "target", "params"} <= set(record.revert):
            return None
        fk = self.kind(str(record.revert["kind"]))
        target = FaultTarget.from_dict(record.revert["target"])  # type: ignore[arg-type]
        return fk, target, fk.params(**record.revert["params"])  # type: ignore[arg-type]

    def _close(self, fault_id: int, evidence: Evidence) -> Evidence:
        try:
            if evidence.ok:
                self.ctx.store.mark_fault_reverted(fault_id, self.ctx.clock(),
                                                   evidence.as_dict())
            else:
                self.ctx.store.mark_fault_failed(fault_id, evidence.observed)
        except InvalidInput:                # the runner and the reaper reverted it together
            now = self.ctx.store.get_fault(fault_id)
            if now is None or now.state in ("pending", "injected"):
                raise
            return Evidence(now.state == "reverted", f"already {now.state}")
        return evidence

    def revert_run(self, run_id: str) -> dict[int, Evidence]:
        return {f.id: self.revert(f.id) for f in reversed(self.ctx.store.open_faults(run_id))}

    def recover(self) -> dict[int, Evidence]:
        """Revert every open fault, newest first (after a crash, or on `chaos halt`)."""
        return {f.id: self.revert(f.id) for f in reversed(self.ctx.store.open_faults())}
