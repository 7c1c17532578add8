-- Alerts received at the Alertmanager-compatible intake. One row per alert instance: a
-- fingerprint (its label set) and the time it started firing. Prometheus resends a firing
-- alert; a resend updates the row, and one with endsAt in the past resolves it.

CREATE TABLE alerts (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint        TEXT NOT NULL,
    alertname          TEXT NOT NULL,
    severity           TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
    labels             TEXT NOT NULL CHECK (json_valid(labels)),
    annotations        TEXT NOT NULL CHECK (json_valid(annotations)),
    starts_at          REAL NOT NULL,
    ends_at            REAL,
    first_received_at  REAL NOT NULL,
    last_received_at   REAL NOT NULL,
    receipts           INTEGER NOT NULL DEFAULT 1,
    UNIQUE (fingerprint, starts_at)
);
CREATE INDEX alerts_firing ON alerts (status) WHERE status = 'firing';
CREATE INDEX alerts_by_name ON alerts (alertname, starts_at DESC);
