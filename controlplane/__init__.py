"""controlplane: a resilience control plane for securities trading clusters.

Data flows one way: telemetry (Prometheus, OpenTelemetry) -> observation (SLOs, alerts,
the RTO/RPO meter) -> decisions (guardrails, runbook triggers) -> platform actions -> telemetry.
"""

__version__ = "0.1.0"
