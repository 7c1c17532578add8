"""Chaos Toolkit actions of the controlplane extension (`chaos discover controlplane`).

    {"type": "action", "name": "kill-gateway",
     "provider": {"type": "python", "module": "controlplane.chaos.actions",
                  "func": "inject_fault",
                  "arguments": {"kind": "process-kill", "target": "gateway"}}}

Every fault is recorded before it is injected and verified by observation afterwards; an
unverified injection fails the activity. Rollbacks call `revert_run_faults`, which reverts
whatever this run injected (idempotent, so it is safe under `rollbacks.strategy: always`).
"""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from controlplane.chaos.config import engine_for, run_id_for
from controlplane.errors import ControlPlaneError

__all__ = ["inject_fault", "revert_fault", "revert_run_faults"]


def inject_fault(kind: str, target: str, parameters: dict[str, Any] | None = None,
                 pick: str = "one", configuration: Configuration = None,
                 secrets: Secrets = None) -> dict[str, Any]:
    """Inject a fault of `kind` (see `controlplane chaos faults`) into `target`: a component
    (`gateway`), an instance (`matcher-1`) or a role (`ledger:primary`). `pick` is `one` (a
    random instance) or `all`. Fails unless the fault is observed to have taken effect."""
    try:
        fault = engine_for(configuration).inject(kind, target, parameters,
                                                 run_id=run_id_for(configuration), pick=pick)
    except ControlPlaneError as err:
        raise ActivityFailed(str(err)) from err
    if not fault.evidence.ok:
        raise ActivityFailed(f"{kind} on {target} was not observed to take effect: "
                             f"{fault.evidence.observed}")
    return fault.as_dict()


def revert_fault(fault_id: int, configuration: Configuration = None,
                 secrets: Secrets = None) -> dict[str, Any]:
    """Revert one fault by id; fails unless it is observed to be undone."""
    evidence = engine_for(configuration).revert(int(fault_id))
    if not evidence.ok:
        raise ActivityFailed(f"fault {fault_id} not reverted: {evidence.observed}")
    return evidence.as_dict()


def revert_run_faults(configuration: Configuration = None,
                      secrets: Secrets = None) -> dict[str, Any]:
    """Revert every fault this run injected that is still open (use as the rollback)."""
    results = engine_for(configuration).revert_run(run_id_for(configuration))
    failed = {i: e.observed for i, e in results.items() if not e.ok}
    if failed:
        raise ActivityFailed(f"faults not reverted: {failed}")
    return {"reverted": sorted(results)}
