"""Service level objectives: the policy format and the Prometheus rules made from it."""

from controlplane.slo.model import SLO, SloPolicy, load_slos
from controlplane.slo.rules import render_rules

__all__ = ["SLO", "SloPolicy", "load_slos", "render_rules"]
