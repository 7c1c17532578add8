"""The five dashboards: availability for managers, SLOs and error budgets, failover and drill
evidence, load tests, chaos GameDays. Each is a list of panels; `board` wraps them with the
Prometheus datasource variable, the uid, tags and time range.

Totals that may have no series yet (no chaos run, no runbook run recorded) end in
`or vector(0)`: "none so far" is a value, and no panel is empty on a new cluster.
"""

from __future__ import annotations

from collections.abc import Callable

from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models.dashboard import Panel

from controlplane.dashboards.panels import (
    DATASOURCE_VAR,
    stat_panel,
    table_panel,
    timeseries_panel,
)

__all__ = ["BOARDS", "DATASOURCE_VAR", "board"]

ORDERS = 'job="gateway",route="/v1/orders",method="POST"'
RED_AMBER_GREEN = [(None, "red"), (0.5, "orange"), (0.9, "green")]
PanelBuilder = Builder[Panel]


def board(uid: str, title: str, description: str, tags: list[str],
          panels: list[PanelBuilder], time_from: str = "now-24h") -> Dashboard:
    built = (Dashboard(title).uid(uid).description(description)
             .tags(["controlplane", *tags]).time(time_from, "now").refresh("30s")
             .timezone("utc").editable()
             .with_variable(DatasourceVariable(DATASOURCE_VAR).label("Prometheus")
                            .type("prometheus")))
    for panel in panels:
        built = built.with_panel(panel)
    return built


def availability() -> Dashboard:
    return board("cp-availability", "Availability (managers)",
                 "Availability against the 99.99% objective, error budget left, incidents, "
                 "the last drills' RTO and RPO, and the resilience score.", ["managers"], [
        stat_panel("Order availability, 30 days", "1 - the 30-day error ratio of order "
                   "entry; the objective is 99.99%",
                   [('1 - slo:sli_error:ratio_rate30d{slo="order-availability"}', "30 d")],
                   "percentunit", steps=[(None, "red"), (0.9999, "green")], decimals=4),
        stat_panel("Error budget left", "Share of each SLO's 30-day error budget not yet "
                   "spent", [("slo:error_budget_remaining:ratio", "{{slo}}")], "percentunit",
                   steps=RED_AMBER_GREEN),
        stat_panel("Resilience score", "0-100, earned by evidence: verified reverts, RTO and "
                   "RPO measured within target, decaying 25% per 30 days (README)",
                   [("controlplane_resilience_score", "score")], "none",
                   steps=[(None, "red"), (50, "orange"), (80, "green")], decimals=1),
        stat_panel("Last drill passed", "1 if the latest drill of each kind met every "
                   "target", [("controlplane_drill_last_passed", "{{drill_kind}}")], "bool_yes_no",
                   steps=[(None, "red"), (1, "green")]),
        timeseries_panel("Availability by SLO, 1 hour windows", "1 - the 1-hour error ratio",
                         [("1 - slo:sli_error:ratio_rate1h", "{{slo}}")], "percentunit"),
        timeseries_panel("Resilience score", "Its trend: it falls as evidence ages",
                         [("controlplane_resilience_score", "score")], "none"),
        stat_panel("Last drill RTO", "Client-observed gap in successful writes in the "
                   "latest drill of each kind; target 5 minutes",
                   [("controlplane_drill_last_rto_seconds", "{{drill_kind}}")], "s",
                   steps=[(None, "green"), (300, "red")]),
        stat_panel("Last drill RPO", "Acknowledged orders missing from the ledger after the "
                   "latest drill of each kind; target 0",
                   [("controlplane_drill_last_rpo_orders", "{{drill_kind}}")], "none",
                   steps=[(None, "green"), (1, "red")]),
        timeseries_panel("Incidents: alerts by severity", "Alert instances the control plane "
                         "has received, by severity",
                         [("sum by (severity) (controlplane_stored_alerts_total) or vector(0)",
                           "{{severity}}")], "none"),
    ], time_from="now-30d")


def slos() -> Dashboard:
    return board("cp-slos", "SLOs and error budgets", "Each SLO's error ratio over the "
                 "multi-window burn-rate windows, its budget left and how fast it burns.",
                 ["sre", "slo"], [
        stat_panel("Error budget left, minutes", "Minutes of the 30-day budget left",
                   [("slo:error_budget_remaining:minutes", "{{slo}}")], "m",
                   steps=[(None, "red"), (1, "green")], width=12),
        table_panel("Objectives", "Each SLO's objective",
                    [("slo:objective:ratio", "")]),
        timeseries_panel("Error budget left", "Share of the 30-day budget left",
                         [("slo:error_budget_remaining:ratio", "{{slo}}")], "percentunit"),
        timeseries_panel("Burn rate", "Error ratio over 5 minutes / the error budget; 1 "
                         "spends the budget in exactly 30 days",
                         [("slo:current_burn_rate:ratio", "{{slo}}")], "none"),
        timeseries_panel("Error ratio, 5 minutes and 1 hour", "The SLIs the fast burn "
                         "alerts read", [("slo:sli_error:ratio_rate5m", "{{slo}} 5m"),
                                         ("slo:sli_error:ratio_rate1h", "{{slo}} 1h")],
                         "percentunit"),
        timeseries_panel("Order p99 latency and its adaptive band", "Thresholds that follow "
                         "the market: the last hour's baseline +- its spread",
                         [("adaptive:order_latency_p99:1m", "p99"),
                          ("adaptive:order_latency_p99:upper1h", "upper"),
                          ("adaptive:order_latency_p99:lower1h", "lower")], "s"),
    ])


def drills() -> Dashboard:
    return board("cp-drills", "Failover and drill evidence", "The latest drill of each kind: "
                 "RTO, RPO, detection and failover against their targets, and the writes "
                 "the clients saw.", ["managers", "drills"], [
        stat_panel("RTO", "Client-observed RTO of the latest drill of each kind",
                   [("controlplane_drill_last_rto_seconds", "{{drill_kind}}")], "s", width=6),
        stat_panel("RTO target", "The target each kind was judged against",
                   [("controlplane_drill_target_rto_seconds", "{{drill_kind}}")], "s", width=6),
        stat_panel("Failover", "Fault to writes routed to the new primary; target 30 s",
                   [("controlplane_drill_last_failover_seconds", "{{drill_kind}}")], "s",
                   steps=[(None, "green"), (30, "red")], width=6),
        stat_panel("Detection", "Fault to detection; target under 30 s",
                   [("controlplane_drill_last_detection_seconds", "{{drill_kind}}")], "s",
                   steps=[(None, "green"), (30, "red")], width=6),
        stat_panel("RPO (orders lost)", "Acknowledged orders missing from the ledger",
                   [("controlplane_drill_last_rpo_orders", "{{drill_kind}}")], "none",
                   steps=[(None, "green"), (1, "red")], width=6),
        stat_panel("Last drill ended", "When the latest drill of each kind ended",
                   [("controlplane_drill_last_end_timestamp_seconds * 1000", "{{drill_kind}}")],
                   "dateTimeFromNow", width=6),
        table_panel("Drills by kind and state", "Every drill the store holds",
                    [("controlplane_drills_total", "")]),
        timeseries_panel("Order writes by status code", "The gap a failover leaves in "
                         "successful writes, as the gateway answered them",
                         [(f"sum by (code) (rate(http_requests_total{{{ORDERS}}}[1m]))",
                           "{{code}}")], "reqps"),
        timeseries_panel("Order error ratio, 5 minutes", "What the availability SLO counts",
                         [('slo:sli_error:ratio_rate5m{slo="order-availability"}', "5m")],
                         "percentunit"),
    ], time_from="now-7d")


def load_tests() -> Dashboard:
    return board("cp-load", "Load tests", "Throughput, latency against the 100 ms target, "
                 "errors and concurrency while Locust drives the cluster.", ["sre", "load"], [
        timeseries_panel("Requests per second by service", "Every HTTP request answered",
                         [("sum by (job) (rate(http_requests_total[1m]))", "{{job}}")],
                         "reqps"),
        timeseries_panel("Orders by result", "New orders: accepted, rejected or error",
                         [("sum by (result) (rate(gateway_orders_total[1m]))", "{{result}}")],
                         "reqps"),
        timeseries_panel("Order latency, mean and p99", "Average order processing; the "
                         "target is under 100 ms",
                         [(f"sum(rate(http_request_duration_seconds_sum{{{ORDERS}}}[1m])) / "
                           f"sum(rate(http_request_duration_seconds_count{{{ORDERS}}}[1m]))",
                           "mean"),
                          ("histogram_quantile(0.99, sum by (le) (rate("
                           f"http_request_duration_seconds_bucket{{{ORDERS}}}[1m])))", "p99")],
                         "s"),
        timeseries_panel("5xx ratio by service", "Server errors / requests",
                         [('sum by (job) (rate(http_requests_total{code=~"5.."}[1m])) / '
                           "sum by (job) (rate(http_requests_total[1m]))", "{{job}}")],
                         "percentunit"),
        timeseries_panel("Requests in flight", "Concurrency each service holds",
                         [("sum by (job) (http_requests_in_flight)", "{{job}}")], "none"),
        timeseries_panel("Ledger pool wait, p99", "Time to get a ledger connection",
                         [("histogram_quantile(0.99, sum by (le, job) "
                           "(rate(db_pool_acquire_seconds_bucket[1m])))", "{{job}}")], "s"),
    ], time_from="now-3h")


def gamedays() -> Dashboard:
    return board("cp-gamedays", "Chaos GameDays", "What the chaos runs did and how the cluster "
                 "held: verdicts by fault kind, faults active, alerts and runbooks, and the "
                 "order flow against its adaptive band.", ["sre", "chaos"], [
        stat_panel("Chaos runs", "Runs recorded, by verdict",
                   [("sum by (verdict) (controlplane_chaos_runs_total) or vector(0)",
                     "{{verdict}}")], "none", width=8),
        stat_panel("Faults active on links", "Fault proxy faults set now",
                   [("sum(faultproxy_fault_active) or vector(0)", "active")], "none",
                   steps=[(None, "green"), (1, "orange")], width=8),
        stat_panel("Runbook runs", "Runbook runs recorded, by outcome",
                   [("sum by (outcome) (controlplane_runbook_runs_total) or vector(0)",
                     "{{outcome}}")], "none", width=8),
        table_panel("Chaos runs by verdict and fault kind", "A run counts under each kind "
                    "of fault it injected; (none): it recorded no fault",
                    [("controlplane_chaos_runs_total or vector(0)", "")]),
        table_panel("Runbook runs: mean duration", "Start to end of finished runs",
                    [("controlplane_runbook_run_duration_seconds_sum / "
                      "controlplane_runbook_run_duration_seconds_count or vector(0)", "")]),
        timeseries_panel("Order rate and its adaptive band", "The anomaly detector's view "
                         "during the GameDay", [("adaptive:order_rate:1m", "rate"),
                                                ("adaptive:order_rate:upper1h", "upper"),
                                                ("adaptive:order_rate:lower1h", "lower")],
                         "reqps"),
        timeseries_panel("Alerts by name", "Alert instances received, by name",
                         [("sum by (alertname) (controlplane_stored_alerts_total) "
                           "or vector(0)", "{{alertname}}")], "none"),
    ], time_from="now-6h")


BOARDS: dict[str, Callable[[], Dashboard]] = {
    "availability": availability,
    "slos": slos,
    "drills": drills,
    "load-tests": load_tests,
    "gamedays": gamedays,
}
