"""The evidence as metrics: a prometheus-client Collector that reads the store at each scrape,
so the series survive a restart of the service (nothing is counted in memory).

Drills get gauges of the latest run per kind, not histograms: a kind is drilled a few times a
year, a histogram of three samples says nothing and its rate() is empty between drills,
while "the last drill's RTO against its target, and when" is the evidence managers and
auditors ask for (the history stays in the store and the API). Runbook runs are frequent, so
their durations are a histogram (buckets counted by SQL). Counts are counters: the store only
adds runs. Drills are labelled `drill_kind`, not `kind`: the cluster's Prometheus gives every
target a `kind` label (scrape_config.py), which would rename ours to `exported_kind`. Every
label is bounded: drill kinds and fault kinds are code, runbooks are files,
alert names are those the intake admits (`max_alert_names`), severities are folded as the
intake folds them. A store error is logged and shown as controlplane_evidence_up 0; it never
fails the scrape.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from controlplane.errors import ControlPlaneError
from controlplane.observe.alerts import SEVERITIES
from controlplane.observe.score import WINDOW_S, Evidence, resilience_score
from controlplane.store import Store
from controlplane.store.evidence import LatestDrill, RunEvidence

__all__ = ["DURATION_BUCKETS", "METRIC_NAMES", "AlertTally", "EvidenceCollector"]

log = logging.getLogger(__name__)
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
OTHER_SEVERITY = "(other)"
# (name, help, field of LatestDrill)
_LATEST = (
    ("controlplane_drill_last_rto_seconds", "Client-observed RTO of the latest finished drill "
     "of each kind (the gap in successful writes)", "rto_s"),
    ("controlplane_drill_last_rpo_orders", "Acknowledged orders missing from the ledger after "
     "the latest finished drill of each kind", "rpo_orders"),
    ("controlplane_drill_last_detection_seconds", "Fault to detection in the latest finished "
     "drill of each kind", "detection_s"),
    ("controlplane_drill_last_failover_seconds", "Fault to writes routed to the new primary in "
     "the latest finished drill of each kind", "failover_s"),
    ("controlplane_drill_target_rto_seconds", "The RTO target the latest drill of each kind "
     "was judged against", "rto_target_s"),
    ("controlplane_drill_target_rpo_orders", "The RPO target (orders) the latest drill of each "
     "kind was judged against", "rpo_target_orders"),
    ("controlplane_drill_target_failover_seconds", "The failover target the latest drill of "
     "each kind was judged against", "failover_target_s"),
    ("controlplane_drill_last_passed", "1 if the latest finished drill of each kind passed, "
     "else 0", "passed"),
    ("controlplane_drill_last_end_timestamp_seconds", "When the latest finished drill of each "
     "kind ended (epoch seconds)", "ended_at"),
)
METRIC_NAMES = (*(name for name, _, _ in _LATEST), "controlplane_drills_total",
                "controlplane_chaos_runs_total", "controlplane_runbook_runs_total",
                "controlplane_runbook_run_duration_seconds", "controlplane_stored_alerts_total",
                "controlplane_resilience_score", "controlplane_resilience_subjects",
                "controlplane_evidence_up")


class EvidenceCollector(Collector):
    """Series read from `store()` (None while the service has no store: then only
    controlplane_evidence_up 0)."""

    def __init__(self, store: Callable[[], Store | None], clock: Callable[[], float],
                 max_alert_names: int = 500) -> None:
        self._store = store
        self._clock = clock
        self._tally = AlertTally(max_alert_names)

    def describe(self) -> list[Metric]:
        """The families without samples, so registering checks names but reads nothing."""
        kinds = {"controlplane_drills_total": CounterMetricFamily,
                 "controlplane_chaos_runs_total": CounterMetricFamily,
                 "controlplane_runbook_runs_total": CounterMetricFamily,
                 "controlplane_stored_alerts_total": CounterMetricFamily,
                 "controlplane_runbook_run_duration_seconds": HistogramMetricFamily}
        return [kinds.get(name, GaugeMetricFamily)(name, "") for name in METRIC_NAMES]

    def collect(self) -> Iterator[Metric]:
        store = self._store()
        families: list[Metric] = []
        if store is not None:
            try:
                families = self._families(store)
            except (sqlite3.Error, ControlPlaneError) as err:
                log.error("evidence metrics: the store did not answer: %s", err)
        yield from families
        yield GaugeMetricFamily("controlplane_evidence_up", "1 if the evidence metrics were read "
                                "from the store at this scrape, else 0", value=int(bool(families)))

    def _families(self, store: Store) -> list[Metric]:
        return [*_latest(store.latest_drills()), _drills(store), _chaos(store),
                _runbooks(store), _durations(store), self._alerts(store), *self._score(store)]

    def _alerts(self, store: Store) -> Metric:
        family = CounterMetricFamily(
            "controlplane_stored_alerts", "Alert instances held in the store (a fingerprint "
            "and a start), by name and severity", labels=["alertname", "severity"])
        for (name, severity), n in self._tally.update(store).items():
            family.add_metric([name, severity], n)
        return family

    def _score(self, store: Store) -> list[Metric]:
        now = self._clock()
        items = [_as_evidence(e) for e in store.run_evidence(now - WINDOW_S)]
        subjects = {e.subject for e in items}
        return [GaugeMetricFamily("controlplane_resilience_score", "0-100, earned by evidence: "
                                  "verified reverts, RTO and RPO measured within target, "
                                  "decaying 25% per 30 days (README)",
                                  value=resilience_score(items, now)),
                GaugeMetricFamily("controlplane_resilience_subjects", "Drill kinds and chaos "
                                  "experiments with a finished run in the score's window",
                                  value=len(subjects))]


class AlertTally:
    """Stored alerts by name and severity, counted once and then only the rows added since
    (the alerts table is only appended to): a scrape reads a primary-key range, not the
    table. The names kept are the first `max_names` to arrive, as the intake admits them;
    other severities are folded into (other) as the intake folds them."""

    def __init__(self, max_names: int) -> None:
        self.max_names = max_names
        self.last_id = 0
        self.first_seen: dict[str, int] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def update(self, store: Store) -> dict[tuple[str, str], int]:
        for name, severity, n, first, last in store.alert_counts(self.last_id):
            key = (name, severity if severity in SEVERITIES else OTHER_SEVERITY)
            self.counts[key] = self.counts.get(key, 0) + n
            self.first_seen[name] = min(first, self.first_seen.get(name, first))
            self.last_id = max(self.last_id, last)
        kept = set(sorted(self.first_seen, key=self.first_seen.__getitem__)[:self.max_names])
        return {key: n for key, n in self.counts.items() if key[0] in kept}


def _latest(drills: list[LatestDrill]) -> Iterator[Metric]:
    for name, text, field in _LATEST:
        family = GaugeMetricFamily(name, text, labels=["drill_kind"])
        for d in drills:
            value = getattr(d, field)
            if value is not None:
                family.add_metric([d.kind], float(value))
        yield family


def _drills(store: Store) -> Metric:
    family = CounterMetricFamily("controlplane_drills", "Drills recorded, by kind and state",
                                 labels=["drill_kind", "state"])
    for kind, state, n in store.drill_counts():
        family.add_metric([kind, state], n)
    return family


def _chaos(store: Store) -> Metric:
    family = CounterMetricFamily("controlplane_chaos_runs", "Chaos experiment runs by verdict "
                                 "and the kind of fault they injected ((none): no fault "
                                 "recorded); a run counts under each kind it injected",
                                 labels=["verdict", "fault_kind"])
    for verdict, kind, n in store.chaos_run_counts():
        family.add_metric([verdict, kind], n)
    return family


def _runbooks(store: Store) -> Metric:
    family = CounterMetricFamily("controlplane_runbook_runs", "Runbook runs by runbook and "
                                 "outcome (state)", labels=["runbook", "outcome"])
    for runbook, outcome, n in store.runbook_run_counts():
        family.add_metric([runbook, outcome], n)
    return family


def _durations(store: Store) -> Metric:
    family = HistogramMetricFamily("controlplane_runbook_run_duration_seconds", "Finished "
                                   "runbook runs, start to end", labels=["runbook"])
    for d in store.runbook_durations(DURATION_BUCKETS):
        buckets = [(floatToGoString(b), n) for b, n in zip(DURATION_BUCKETS, d.counts, strict=True)]
        family.add_metric([d.label], [*buckets, ("+Inf", d.count)], d.total_s)
    return family


def _as_evidence(e: RunEvidence) -> Evidence:
    extra = {k: float(v) for k, v in (("rto_target_s", e.rto_target_s),
                                      ("rpo_target_orders", e.rpo_target_orders))
             if v is not None}
    return Evidence(e.subject, e.ended_at, e.faults, e.reverted, e.rto_s, e.rpo_orders,
                    **extra)
