"""Drills: a fault under steady load, with detection, failover, RTO and RPO measured."""

from controlplane.drills.ledger_failover import run_ledger_failover
from controlplane.drills.model import Check, DrillOutcome, DrillSettings, Timeline

__all__ = ["Check", "DrillOutcome", "DrillSettings", "Timeline", "run_ledger_failover"]
