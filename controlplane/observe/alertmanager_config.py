"""Alertmanager configuration generated from the topology (`cluster up --alertmanager`).

Prometheus sends its alerts to Alertmanager, which groups them, applies silences and
inhibitions, and routes them:
- `RunbookNotification` (what a runbook's `notify` step posts) only to `people`, the receiver
  the topology configures (webhook, email, Slack, PagerDuty ...), never back to the control
  plane, so a notification cannot trigger a runbook;
- everything else to the control plane's alert intake (webhook, with the intake credential,
  resolved notifications included), which starts the runbooks.
The schema is Alertmanager 0.25's (Debian bookworm), checked by `amtool check-config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["NOTIFICATION_ALERT", "render_alertmanager_config"]

NOTIFICATION_ALERT = "RunbookNotification"

# A fast-burn page for an SLO makes its slow-burn warning noise (controlplane/slo/rules.py).
INHIBIT_RULES = [{
    "source_matchers": ['alertname=~"SLOBurnRate.*"', 'severity="page"'],
    "target_matchers": ['alertname=~"SLOBurnRate.*"', 'severity="warning"'],
    "equal": ["cluster", "slo"],
}]


def render_alertmanager_config(*, intake_url: str | None, intake_credentials: Path | None,
                               people: dict[str, list[dict[str, Any]]],
                               group_wait: str = "1s", group_interval: str = "1s",
                               repeat_interval: str = "1h") -> str:
    """`intake_url`: the control plane's POST /api/v2/alerts (None: no control plane, alerts
    stop at Alertmanager); `people`: the notification receiver's integrations."""
    receivers: list[dict[str, Any]] = [{"name": "people", **people}]
    default = "people"
    if intake_url:
        hook: dict[str, Any] = {"url": intake_url, "send_resolved": True}
        if intake_credentials is not None:
            hook["http_config"] = {"authorization": {
                "type": "Bearer", "credentials_file": str(intake_credentials)}}
        receivers.insert(0, {"name": "controlplane", "webhook_configs": [hook]})
        default = "controlplane"
    config = {
        "route": {
            "receiver": default, "group_by": ["alertname", "cluster"],
            "group_wait": group_wait, "group_interval": group_interval,
            "repeat_interval": repeat_interval,
            "routes": [{"receiver": "people", "matchers": [f'alertname="{NOTIFICATION_ALERT}"'],
                        "group_by": ["..."], "continue": False}],   # one message, one group
        },
        "inhibit_rules": INHIBIT_RULES,
        "receivers": receivers,
    }
    return yaml.safe_dump(config, sort_keys=False)
