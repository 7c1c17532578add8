"""Grafana dashboards as code: five dashboards built with grafana-foundation-sdk
(`boards`), rendered to the JSON committed under dashboards/ (`render`), and uploaded to a
Grafana with grafana-client (`push`). Every query names a metric that exists: the SLO
recording rules (policies/generated/slo-rules.yml), the trading services' own metrics
(testbed/) and the control plane's evidence metrics (controlplane.observe.evidence_metrics).
"""

from controlplane.dashboards.boards import BOARDS, DATASOURCE_VAR
from controlplane.dashboards.render import (
    DASHBOARDS_DIR,
    check_dir,
    panel_queries,
    render_all,
    write_all,
)

__all__ = ["BOARDS", "DASHBOARDS_DIR", "DATASOURCE_VAR", "check_dir", "panel_queries",
           "render_all", "write_all"]
