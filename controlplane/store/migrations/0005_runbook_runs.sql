-- Runbook runs: who or what started them, for which alert, every step with its input, output
-- and result, and the approvals on-call staff gave or refused.

CREATE TABLE runbook_runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    runbook            TEXT NOT NULL,
    target             TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('running', 'waiting_approval',
                        'succeeded', 'failed', 'rejected', 'rolled_back', 'skipped')),
    dry_run            INTEGER NOT NULL DEFAULT 0,
    started_by         TEXT NOT NULL,
    alert_fingerprint  TEXT,
    alert_starts_at    REAL,
    trigger            TEXT NOT NULL CHECK (json_valid(trigger)),
    pid                INTEGER,
    started_at         REAL NOT NULL,
    ended_at           REAL,
    error              TEXT
);
CREATE INDEX runbook_runs_active ON runbook_runs (state)
    WHERE state IN ('running', 'waiting_approval');
CREATE UNIQUE INDEX runbook_runs_one_per_alert ON runbook_runs (runbook, alert_fingerprint,
    alert_starts_at) WHERE alert_fingerprint IS NOT NULL;

CREATE TABLE runbook_steps (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL REFERENCES runbook_runs (id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('step', 'verify', 'rollback', 'approval')),
    action       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'timed_out',
                  'skipped', 'approved', 'rejected', 'waiting')),
    attempt      INTEGER NOT NULL DEFAULT 1,
    actor        TEXT NOT NULL,
    input        TEXT NOT NULL CHECK (json_valid(input)),
    output       TEXT CHECK (output IS NULL OR json_valid(output)),
    error        TEXT,
    started_at   REAL NOT NULL,
    ended_at     REAL
);
CREATE INDEX runbook_steps_by_run ON runbook_steps (run_id, id);

CREATE TABLE runbook_approvals (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    INTEGER NOT NULL REFERENCES runbook_runs (id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    decision  TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    actor     TEXT NOT NULL,
    reason    TEXT,
    at        REAL NOT NULL,
    UNIQUE (run_id, idx)
);
