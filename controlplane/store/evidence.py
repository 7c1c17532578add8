"""Aggregate reads for the evidence metrics (`controlplane.observe.evidence_metrics`): counts
grouped by a few bounded columns, and each subject's latest finished run (SQLite's MAX() with
bare columns: they come from the row holding the maximum). Every query is one pass, cheap
enough to run at each scrape."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from controlplane.store.records import Records

__all__ = ["DurationBuckets", "EvidenceRecords", "LatestDrill", "RunEvidence"]

NO_FAULT = "(none)"         # the fault_kind of a chaos run that recorded no fault
_FAULT_COUNTS = ("(SELECT COUNT(*) FROM faults f WHERE f.run_id = {run}) AS faults, "
                 "(SELECT COUNT(*) FROM faults f WHERE f.run_id = {run} "
                 "AND f.state = 'reverted') AS reverted")


@dataclass(frozen=True, slots=True)
class RunEvidence:
    """A finished drill or chaos run: what it measured, its targets, its faults."""

    subject: str
    ended_at: float
    faults: int
    reverted: int
    rto_s: float | None
    rpo_orders: float | None
    rto_target_s: float | None
    rpo_target_orders: float | None


@dataclass(frozen=True, slots=True)
class LatestDrill:
    """The latest finished (passed or failed) drill of a kind, with its measurements."""

    kind: str
    passed: bool
    ended_at: float
    rto_s: float | None
    rpo_orders: float | None
    detection_s: float | None
    failover_s: float | None
    rto_target_s: float | None
    rpo_target_orders: float | None
    failover_target_s: float | None


@dataclass(frozen=True, slots=True)
class DurationBuckets:
    """Cumulative counts of finished runs at or under each bound, their count and sum."""

    label: str
    counts: tuple[int, ...]
    count: int
    total_s: float


class EvidenceRecords(Records):
    def drill_counts(self) -> list[tuple[str, str, int]]:
        """(kind, state, drills)."""
        return [tuple(r) for r in self._conn.execute(
            "SELECT kind, state, COUNT(*) FROM drills GROUP BY kind, state ORDER BY 1, 2")]

    def latest_drills(self) -> list[LatestDrill]:
        """Each kind's latest finished drill."""
        rows = self._conn.execute(
            "SELECT kind, state, MAX(ended_at) AS ended_at, "
            "json_extract(result, '$.rto_s') AS rto, json_extract(result, '$.rpo_orders') AS rpo,"
            " json_extract(result, '$.detection_s') AS det, "
            "json_extract(result, '$.failover_s') AS fo, "
            "json_extract(params, '$.targets.rto_seconds') AS rto_t, "
            "json_extract(params, '$.targets.rpo_orders') AS rpo_t, "
            "json_extract(params, '$.targets.failover_seconds') AS fo_t "
            "FROM drills WHERE state IN ('passed', 'failed') GROUP BY kind ORDER BY kind")
        return [LatestDrill(r["kind"], r["state"] == "passed", r["ended_at"], r["rto"],
                            r["rpo"], r["det"], r["fo"], r["rto_t"], r["rpo_t"], r["fo_t"])
                for r in rows]

    def chaos_run_counts(self) -> list[tuple[str, str, int]]:
        """(state, fault kind, runs): a run counts once under each kind it injected."""
        return [tuple(r) for r in self._conn.execute(
            f"SELECT c.state, COALESCE(f.kind, '{NO_FAULT}'), COUNT(DISTINCT c.id) "
            "FROM chaos_runs c LEFT JOIN faults f ON f.run_id = c.run_id "
            "GROUP BY 1, 2 ORDER BY 1, 2")]

    def runbook_run_counts(self) -> list[tuple[str, str, int]]:
        """(runbook, state, runs)."""
        return [tuple(r) for r in self._conn.execute(
            "SELECT runbook, state, COUNT(*) FROM runbook_runs GROUP BY 1, 2 ORDER BY 1, 2")]

    def runbook_durations(self, bounds: Sequence[float]) -> list[DurationBuckets]:
        """Per runbook, finished runs' durations counted at or under each bound."""
        under = ", ".join(f"SUM(d <= {float(b)!r})" for b in bounds)
        rows = self._conn.execute(
            f"SELECT runbook, {under}, COUNT(*), TOTAL(d) FROM (SELECT runbook, "
            "ended_at - started_at AS d FROM runbook_runs WHERE ended_at IS NOT NULL) "
            "GROUP BY runbook ORDER BY runbook")
        n = len(bounds)
        return [DurationBuckets(r[0], tuple(r[1:n + 1]), r[n + 1], r[n + 2]) for r in rows]

    def alert_counts(self, after_id: int = 0) -> list[tuple[str, str, int, int, int]]:
        """(alertname, severity, alert instances, first id, last id) of the alerts stored
        after `after_id`: a range of the primary key, so a caller that keeps the last id
        reads only what arrived since (rows are never deleted, and an alert's name and
        severity never change)."""
        return [tuple(r) for r in self._conn.execute(
            "SELECT alertname, severity, COUNT(*), MIN(id), MAX(id) FROM alerts WHERE id > ? "
            "GROUP BY 1, 2", (after_id,))]

    def run_evidence(self, since: float) -> list[RunEvidence]:
        """The latest finished drill of each kind and chaos run of each experiment, ended
        at or after `since`."""
        return self._drill_evidence(since) + self._chaos_evidence(since)

    def _drill_evidence(self, since: float) -> list[RunEvidence]:
        rows = self._conn.execute(
            "SELECT 'drill:' || kind AS subject, MAX(ended_at) AS ended_at, "
            + _FAULT_COUNTS.format(run="'drill-' || d.id") + ", "
            "json_extract(result, '$.rto_s') AS rto, json_extract(result, '$.rpo_orders') AS rpo,"
            " json_extract(params, '$.targets.rto_seconds') AS rto_t, "
            "json_extract(params, '$.targets.rpo_orders') AS rpo_t "
            "FROM drills d WHERE state IN ('passed', 'failed') AND ended_at >= ? "
            "GROUP BY kind", (since,))
        return [_evidence(r) for r in rows]

    def _chaos_evidence(self, since: float) -> list[RunEvidence]:
        rows = self._conn.execute(
            "SELECT 'chaos:' || experiment AS subject, MAX(ended_at) AS ended_at, "
            + _FAULT_COUNTS.format(run="c.run_id") + ", "
            "json_extract(result, '$.rto_s') AS rto, json_extract(result, '$.rpo_orders') AS rpo,"
            " NULL AS rto_t, NULL AS rpo_t FROM chaos_runs c "
            "WHERE state IN ('passed', 'failed', 'aborted') AND ended_at >= ? "
            "GROUP BY experiment", (since,))
        return [_evidence(r) for r in rows]


def _evidence(r: sqlite3.Row) -> RunEvidence:
    return RunEvidence(r["subject"], r["ended_at"], r["faults"], r["reverted"], r["rto"],
                       r["rpo"], r["rto_t"], r["rpo_t"])
