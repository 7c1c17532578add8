"""The fault library: every kind registers itself in FAULTS when its module is imported."""

from controlplane.chaos.faults import app, ledger, links, network, process, resources  # noqa: F401
from controlplane.chaos.faults.base import FAULTS, Evidence, FaultKind, FaultTarget

__all__ = ["FAULTS", "Evidence", "FaultKind", "FaultTarget"]
