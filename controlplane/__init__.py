"""controlplane: a resilience control plane for securities trading clusters.

Data flows one way: telemetry (Prometheus, OpenTelemetry) -> observation (SLOs, alerts,
the RTO/RPO meter) -> decisions (guardrails, runbook triggers) -> platform actions -> telemetry.
"""

__version__ = "0.1.0"


def discover(discover_system: bool = True):  # noqa: ANN201 - Chaos Toolkit's entry point
    """Chaos Toolkit extension discovery (`chaos discover controlplane --no-install`)."""
    from controlplane.chaos.discovery import discover as _discover

    return _discover(discover_system)
