"""Drills: a fault under steady load, with detection, failover, RTO and RPO measured.

The drills here measure; `controlplane.application.drills` runs them, each under the store
record it writes."""

from controlplane.drills.model import Check, DrillOutcome, DrillPlan, DrillSettings, Timeline

__all__ = ["Check", "DrillOutcome", "DrillPlan", "DrillSettings", "Timeline"]
