"""Prometheus rules from the SLO policy: SLI recording rules over every window the alerts
need, multi-window multi-burn-rate alerts, fast symptom alerts (the 30 s detection target),
adaptive bands for latency and traffic, the error budget left, and the matcher's capacity
alerts that drive autoscaling (capacity.py).

Burn-rate alerts follow the SRE workbook: page at 14.4x over 1h and 5m, and at 6x over 6h and
30m; ticket at 3x over 1d and 2h, and at 1x over 3d and 6h. The short window makes an alert
stop soon after the problem does, so no `for:` delay is needed to keep them precise.

The recordings carry Sloth's labels (`sloth_id`, `sloth_service`, `sloth_slo`) beside ours,
and the few Sloth recordings we lack (`slo:error_budget:ratio`, `slo:time_period:days`,
`slo:current_burn_rate:ratio`, `slo:period_burn_rate:ratio`,
`slo:period_error_budget_remaining:ratio`, `sloth_slo_info`) are added, so Sloth's published
Grafana dashboards show our SLOs; `slo:sli_error:ratio_rate<window>` and `slo:objective:ratio`
already have Sloth's names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from controlplane.slo.capacity import CAPACITY_ALERTS
from controlplane.slo.model import SLO, SloPolicy, duration_seconds

__all__ = ["BURN_ALERTS", "CARRIED_LABELS", "SEVERITIES", "TARGET_LABELS", "WINDOWS",
           "alert_labels", "bucket", "render_rules", "sli_expr"]

SEVERITIES = ("info", "warning", "critical", "page")
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (severity, burn rate, long window, short window)
BURN_ALERTS = (
    ("page", 14.4, "1h", "5m"),
    ("page", 6.0, "6h", "30m"),
    ("warning", 3.0, "1d", "2h"),
    ("warning", 1.0, "3d", "6h"),
)


def _with_label(selector: str, label: str) -> str:
    name, brace, rest = selector.partition("{")
    return f"{name}{{{label},{rest}" if brace and rest != "}" else f"{name}{{{label}}}"


def sli_expr(slo: SLO, window: str) -> str:
    """The share of bad events over `window` (0 when nothing was bad)."""
    ind = slo.indicator
    if ind.ratio:
        return (f"(sum(rate({ind.ratio.errors}[{window}])) or vector(0))"
                f" / sum(rate({ind.ratio.total}[{window}]))")
    if ind.latency:
        good = bucket(ind.latency.histogram, ind.latency.threshold_s)
        total = bucket(ind.latency.histogram, None)
        return f"1 - sum(rate({good}[{window}])) / sum(rate({total}[{window}]))"
    assert ind.freshness
    return f'avg_over_time(slo:freshness_bad:now{{slo="{slo.name}"}}[{window}])'


def bucket(histogram: str, threshold_s: float | None) -> str:
    """The histogram's bucket selector at `le` = threshold_s (None: the +Inf bucket)."""
    le = "+Inf" if threshold_s is None else _le(threshold_s)
    return _with_label(histogram, f'le="{le}"')


def _le(threshold: float) -> str:
    text = repr(float(threshold))
    return text[:-2] if text.endswith(".0") else text


def _metric(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def _recordings(policy: SloPolicy) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for slo in policy.slos:
        labels = {"slo": slo.name, "service": slo.service, **_sloth_labels(slo)}
        if slo.indicator.freshness:
            f = slo.indicator.freshness
            rules.append({"record": "slo:freshness_bad:now", "labels": labels,
                          "expr": f"min({f.gauge}) > bool {f.threshold_s:g}"})
        for window in (*WINDOWS, policy.window):
            rules.append({"record": _metric(window), "labels": labels,
                          "expr": sli_expr(slo, window)})
        rules.append({"record": "slo:error_budget_remaining:ratio", "labels": labels,
                      "expr": f'1 - {_metric(policy.window)}{{slo="{slo.name}"}} / '
                              f"{slo.budget:.10g}"})
        budget_minutes = duration_seconds(policy.window) / 60 * slo.budget  # 4.32 at 99.99%/30d
        rules.append({"record": "slo:error_budget_remaining:minutes", "labels": labels,
                      "expr": f'slo:error_budget_remaining:ratio{{slo="{slo.name}"}} * '
                              f"{budget_minutes:.10g}"})
        rules.append({"record": "slo:objective:ratio", "labels": labels,
                      "expr": f"vector({slo.objective:.10g})"})
        rules += _sloth(slo, policy.window, labels)
    return rules


def _sloth_labels(slo: SLO) -> dict[str, str]:
    return {"sloth_id": f"{slo.service}-{slo.name}", "sloth_service": slo.service,
            "sloth_slo": slo.name}


def _sloth(slo: SLO, window: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The recordings Sloth's dashboards read that ours do not already provide."""
    sel, budget = f'{{slo="{slo.name}"}}', f"{slo.budget:.10g}"
    return [
        {"record": "slo:error_budget:ratio", "labels": labels, "expr": f"vector({budget})"},
        {"record": "slo:time_period:days", "labels": labels,
         "expr": f"vector({duration_seconds(window) / 86400:g})"},
        {"record": "slo:current_burn_rate:ratio", "labels": labels,
         "expr": f"{_metric('5m')}{sel} / {budget}"},
        {"record": "slo:period_burn_rate:ratio", "labels": labels,
         "expr": f"{_metric(window)}{sel} / {budget}"},
        {"record": "slo:period_error_budget_remaining:ratio", "labels": labels,
         "expr": f"1 - slo:period_burn_rate:ratio{sel}"},
        {"record": "sloth_slo_info", "labels": {**labels, "sloth_objective":
                                                f"{slo.objective * 100:.6g}"},
         "expr": "vector(1)"},
    ]


def _burn_alerts(policy: SloPolicy) -> list[dict[str, Any]]:
    alerts = []
    for slo in policy.slos:
        sel = f'{{slo="{slo.name}"}}'
        for severity, rate, long_w, short_w in BURN_ALERTS:
            threshold = rate * slo.budget
            alerts.append({
                "alert": f"SLOBurnRate{severity.title()}{long_w}",
                "expr": f"{_metric(long_w)}{sel} > {threshold:.10g} and "
                        f"{_metric(short_w)}{sel} > {threshold:.10g}",
                "labels": {"severity": severity, "slo": slo.name, "service": slo.service,
                           "burn_rate": f"{rate:g}", "window": long_w},
                "annotations": {
                    "summary": f"{slo.name}: error budget burning {rate:g}x too fast "
                               f"({long_w} and {short_w})",
                    "description": f"{slo.description} Bad share over {long_w}: "
                                   "{{ $value | humanizePercentage }}; objective "
                                   f"{slo.objective:.4%}."},
            })
    return alerts


PRIMARY_TIMELINE = ('max(patroni_postgres_timeline{job="ledger"} and on(instance_id) '
                    '(patroni_primary{job="ledger"} == 1))')

SYMPTOMS: list[dict[str, Any]] = [
    {"alert": "OrderWritesFailing", "for": "5s",
     "expr": '(sum(rate(http_requests_total{job="gateway",route="/v1/orders",method="POST",'
             'code=~"5.."}[10s])) or vector(0)) / sum(rate(http_requests_total{job="gateway",'
             'route="/v1/orders",method="POST"}[10s])) > 0.2',
     "labels": {"severity": "page", "service": "gateway"},
     "annotations": {"summary": "More than 20% of order writes failed over the last 10 s"}},
    {"alert": "OrderEntryDown", "for": "3s", "expr": 'max(up{job="gateway"}) == 0',
     "labels": {"severity": "page", "service": "gateway"},
     "annotations": {"summary": "No gateway instance answers its scrape"}},
    {"alert": "LedgerNoPrimary", "for": "2s",   # 3 evaluations: one missed scrape is no page
     "expr": 'max(patroni_primary{job="ledger"}) == 0 or '
             'absent(patroni_primary{job="ledger"} == 1)',
     "labels": {"severity": "page", "service": "ledger"},
     "annotations": {"summary": "The ledger has no primary: writes cannot commit"}},
    # the continuous RPO audit of the control plane found acknowledged orders gone
    {"alert": "AcknowledgedOrdersMissing", "for": "0s",
     "expr": "max by (gateway, first_seq, last_seq, seqs, first_at, last_at) "
             '(controlplane_acknowledged_orders_missing{job="controlplane"}) > 0',
     "labels": {"severity": "page", "service": "ledger"},
     "annotations": {
         "summary": "{{ $value }} orders that {{ $labels.gateway }} acknowledged are missing "
                    "from the ledger: seq {{ $labels.first_seq }} to {{ $labels.last_seq }}",
         "description": "Missing sequence ids {{ $labels.seqs }}, acknowledged between "
                        "{{ $labels.first_at }} and {{ $labels.last_at }} (Unix time). RPO is "
                        "broken: find them in the gateway's journal (GET /admin/acks)."}},
    # a runbook file the control plane refused switches every runbook off: no alert acts
    {"alert": "RunbooksNotLoaded", "for": "0s",
     "expr": 'controlplane_runbooks_loaded{job="controlplane"} == 0',
     "labels": {"severity": "critical", "service": "controlplane"},
     "annotations": {
         "summary": "{{ $labels.instance_id }} refused a runbook file: no alert starts any "
                    "runbook",
         "description": "GET /readyz on {{ $labels.instance_id }} names the file, the step "
                        "and the field; fix the file and restart `controlplane serve`."}},
    # the primary runs on an older timeline than a primary of the last 10 minutes did: the
    # newer timeline's writes were discarded (a stale leader took the lock back, patroni#2689)
    {"alert": "LedgerTimelineRegressed", "for": "5s",
     "expr": f"max_over_time({PRIMARY_TIMELINE}[10m:1s]) > {PRIMARY_TIMELINE}",
     "labels": {"severity": "page", "service": "ledger"},
     "annotations": {"summary": "The ledger primary runs on a timeline older than "
                                "{{ $value }}, which a primary had in the last 10 minutes: "
                                "the writes of that timeline were discarded"}},
    # under quorum commit Patroni reports its standbys as quorum standbys, not sync ones
    {"alert": "LedgerNoSyncStandby", "for": "30s",
     "expr": 'max(patroni_sync_standby{job="ledger"}) == 0 '
             'unless max(patroni_quorum_standby{job="ledger"}) > 0',
     "labels": {"severity": "critical", "service": "ledger"},
     "annotations": {"summary": "No synchronous standby: a primary loss now could lose "
                                "acknowledged orders"}},
    # only while a matcher feeds it: at cluster start quotes are stale until the matchers
    # run, and restarting market data then (the runbook's remedy) helps nothing
    {"alert": "MarketDataStale", "for": "5s",
     "expr": 'min(marketdata_quote_age_seconds{job="marketdata"}) > 5 '
             'and on() max(up{job="matcher"}) == 1',
     "labels": {"severity": "critical", "service": "marketdata"},
     "annotations": {"summary": "No quote has been updated for more than 5 s"}},
    {"alert": "GatewayCrashLoop", "for": "0s",
     "expr": 'changes(process_start_time_seconds{job="gateway"}[1m]) >= 3',
     "labels": {"severity": "critical", "service": "gateway"},
     "annotations": {"summary": "{{ $labels.instance_id }} restarted 3 times or more in a "
                                "minute"}},
    {"alert": "ComponentDown", "for": "5s", "expr": "up == 0",
     "labels": {"severity": "warning"},
     "annotations": {"summary": "{{ $labels.instance_id }} ({{ $labels.job }}) does not "
                                "answer its scrape"}},
]

# The labels an alert carries beyond its rule's own: those its expression keeps. A series that
# is not aggregated keeps its scrape target's labels (observe/scrape_config.py); `by (...)`
# keeps the ones named. Every other alert aggregates them all away. Runbook templates
# (`{{ labels.NAME }}`) may only name labels listed here, in the rule, or always present.
TARGET_LABELS = ("job", "instance", "instance_id", "kind", "tier")
ALWAYS_LABELS = ("alertname", "cluster")       # cluster: Prometheus's external label
CARRIED_LABELS: dict[str, tuple[str, ...]] = {
    "AcknowledgedOrdersMissing": ("gateway", "first_seq", "last_seq", "seqs", "first_at",
                                  "last_at"),
    "RunbooksNotLoaded": TARGET_LABELS,
    "GatewayCrashLoop": TARGET_LABELS,
    "ComponentDown": TARGET_LABELS,
}

LATENCY = ('histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket'
           '{job="gateway",route="/v1/orders",method="POST"}[1m])))')
TRAFFIC = 'sum(rate(http_requests_total{job="gateway",route="/v1/orders",method="POST"}[1m]))'


def _adaptive() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rolling 1 h baselines with 3-sigma bands, so thresholds follow market conditions."""
    records = [
        {"record": "adaptive:order_latency_p99:1m", "expr": LATENCY},
        {"record": "adaptive:order_rate:1m", "expr": TRAFFIC},
    ]
    for name in ("order_latency_p99", "order_rate"):
        records += [
            {"record": f"adaptive:{name}:baseline1h",
             "expr": f"avg_over_time(adaptive:{name}:1m[1h])"},
            {"record": f"adaptive:{name}:stddev1h",
             "expr": f"stddev_over_time(adaptive:{name}:1m[1h])"},
            {"record": f"adaptive:{name}:upper1h",
             "expr": f"adaptive:{name}:baseline1h + 3 * adaptive:{name}:stddev1h"},
            {"record": f"adaptive:{name}:lower1h",
             "expr": f"adaptive:{name}:baseline1h - 3 * adaptive:{name}:stddev1h"},
        ]
    alerts = [
        {"alert": "OrderLatencyAboveBand", "for": "1m",
         "expr": "adaptive:order_latency_p99:1m > adaptive:order_latency_p99:upper1h "
                 "and adaptive:order_latency_p99:1m > 0.05",
         "labels": {"severity": "warning", "service": "gateway"},
         "annotations": {"summary": "Order p99 {{ $value | humanizeDuration }} is above its "
                                    "adaptive band (1 h baseline + 3 sigma)"}},
        {"alert": "OrderTrafficBelowBand", "for": "2m",
         "expr": "adaptive:order_rate:1m < adaptive:order_rate:lower1h "
                 "and adaptive:order_rate:baseline1h > 1",
         "labels": {"severity": "warning", "service": "gateway"},
         "annotations": {"summary": "Order flow {{ $value }}/s dropped below its adaptive "
                                    "band: clients may be failing upstream"}},
        {"alert": "OrderTrafficAboveBand", "for": "2m",
         "expr": "adaptive:order_rate:1m > adaptive:order_rate:upper1h "
                 "and adaptive:order_rate:baseline1h > 1",
         "labels": {"severity": "info", "service": "gateway"},
         "annotations": {"summary": "Order flow {{ $value }}/s is above its adaptive band "
                                    "(a market-open burst?)"}},
    ]
    return records, alerts


def _groups(policy: SloPolicy) -> list[dict[str, Any]]:
    adaptive_records, adaptive_alerts = _adaptive()
    return [
        {"name": "slo-recordings", "rules": _recordings(policy)},
        {"name": "adaptive-recordings", "rules": adaptive_records},
        {"name": "slo-burn-rate-alerts", "rules": _burn_alerts(policy)},
        {"name": "symptom-alerts", "rules": SYMPTOMS},
        {"name": "adaptive-alerts", "rules": adaptive_alerts},
        {"name": "capacity-alerts", "rules": CAPACITY_ALERTS},
    ]


def alert_labels(policy: SloPolicy) -> dict[str, frozenset[str]]:
    """Every generated alert and the names of the labels it arrives with."""
    found: dict[str, frozenset[str]] = {}
    for group in _groups(policy):
        for rule in group["rules"]:
            if "alert" in rule:
                found[rule["alert"]] = found.get(rule["alert"], frozenset()) | frozenset(
                    (*ALWAYS_LABELS, *rule.get("labels", {}),
                     *CARRIED_LABELS.get(rule["alert"], ())))
    return found


def _linked(groups: list[dict[str, Any]], urls: Mapping[str, str]) -> list[dict[str, Any]]:
    """Each alert rule a runbook answers, with the `runbook_url` annotation Alertmanager and
    Grafana show as a link (copies: the rule tables stay as declared)."""
    def link(rule: dict[str, Any]) -> dict[str, Any]:
        url = urls.get(rule.get("alert", ""))
        if url is None:
            return rule
        return {**rule, "annotations": {**rule.get("annotations", {}), "runbook_url": url}}
    return [{**group, "rules": [link(rule) for rule in group["rules"]]} for group in groups]


def render_rules(policy: SloPolicy, runbook_urls: Mapping[str, str] | None = None) -> str:
    """The rules file; `runbook_urls` ({alert: url}, `controlplane.runbooks.links`) links the
    alerts that start a runbook to it."""
    groups = _linked(_groups(policy), runbook_urls or {})
    header = ("# Generated by `controlplane policies render` from policies/slos.yaml; edit "
              "that file, not this one.\n")
    return header + yaml.safe_dump({"groups": groups}, sort_keys=False, width=120)
