-- The automation switch: while paused, alerts still arrive and are stored, and each runbook
-- they would have started is recorded as skipped with the reason; nothing acts on the cluster.
-- On-call staff pause automation for maintenance; benchmarks pause it to measure Patroni alone.

CREATE TABLE automation_pause (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    paused  INTEGER NOT NULL CHECK (paused IN (0, 1)),
    reason  TEXT,
    actor   TEXT,
    at      REAL NOT NULL
);
