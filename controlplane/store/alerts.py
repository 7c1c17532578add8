"""Alert records: every alert instance the intake received, firing or resolved."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from controlplane.observe.alerts import AlertIn
from controlplane.store.models import JsonObject, from_json, to_json
from controlplane.store.records import Records

__all__ = ["AlertRecord", "AlertRecords"]


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    fingerprint: str
    alertname: str
    severity: str
    status: str
    labels: JsonObject
    annotations: JsonObject
    starts_at: float
    ends_at: float | None
    first_received_at: float
    last_received_at: float
    receipts: int


class AlertRecords(Records):
    def receive_alerts(self, alerts: Sequence[AlertIn], now: float) -> list[AlertRecord]:
        """Store a batch in one transaction: all of it or none."""
        out = []
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for a in alerts:
                status = "resolved" if a.resolved(now) else "firing"
                row = self._one(
                    "INSERT INTO alerts (fingerprint, alertname, severity, status, labels, "
                    "annotations, starts_at, ends_at, first_received_at, last_received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (fingerprint, starts_at) DO UPDATE SET status = excluded.status,"
                    " ends_at = excluded.ends_at, annotations = excluded.annotations, "
                    "last_received_at = excluded.last_received_at, receipts = receipts + 1 "
                    "RETURNING *",
                    (a.fingerprint, a.alertname, a.severity, status, to_json(a.labels, "labels"),
                     to_json(a.annotations, "annotations"), a.starts_at, a.ends_at, now, now))
                assert row is not None
                out.append(_alert(row))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return out

    def firing_alerts(self) -> list[AlertRecord]:
        rows = self._conn.execute("SELECT * FROM alerts WHERE status = 'firing' ORDER BY "
                                  "starts_at")
        return [_alert(r) for r in rows]

    def alert_names(self, limit: int) -> list[str]:
        """Up to `limit` distinct alert names, in the order they first arrived."""
        rows = self._conn.execute("SELECT alertname FROM alerts GROUP BY alertname "
                                  "ORDER BY min(id) LIMIT ?", (limit,))
        return [r["alertname"] for r in rows]

    def alert_history(self, limit: int = 100, alertname: str | None = None) -> list[AlertRecord]:
        rows = self._conn.execute(
            "SELECT * FROM alerts WHERE (? IS NULL OR alertname = ?) ORDER BY id DESC LIMIT ?",
            (alertname, alertname, limit))
        return [_alert(r) for r in rows]

    def get_alert(self, alert_id: int) -> AlertRecord | None:
        row = self._one("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return None if row is None else _alert(row)


def _alert(row: sqlite3.Row) -> AlertRecord:
    return AlertRecord(row["id"], row["fingerprint"], row["alertname"], row["severity"],
                       row["status"], from_json(row["labels"]) or {},
                       from_json(row["annotations"]) or {}, row["starts_at"], row["ends_at"],
                       row["first_received_at"], row["last_received_at"], row["receipts"])
