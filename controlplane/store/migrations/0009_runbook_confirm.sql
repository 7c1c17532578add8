-- Runbooks act only on a condition they confirmed (issue 10, item 7): a run an alert started
-- whose checks of the alert's condition fail ends `not_confirmed`, having acted on nothing, and
-- each check is recorded as a step of kind `confirm`.
--
-- SQLite cannot change a CHECK constraint in place, so the three runbook tables are built again
-- and their rows copied, ids and AUTOINCREMENT sequences kept. Foreign keys are on while a
-- migration runs: the old tables are dropped children first (no ON DELETE CASCADE fires), and
-- renaming a new parent rewrites its children's references to the old name.

CREATE TABLE runbook_runs_0009 (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    runbook            TEXT NOT NULL,
    target             TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('running', 'waiting_approval',
                        'succeeded', 'failed', 'rejected', 'rolled_back', 'skipped',
                        'not_confirmed')),
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
INSERT INTO runbook_runs_0009 (id, runbook, target, state, dry_run, started_by,
    alert_fingerprint, alert_starts_at, trigger, pid, started_at, ended_at, error)
    SELECT id, runbook, target, state, dry_run, started_by, alert_fingerprint,
    alert_starts_at, trigger, pid, started_at, ended_at, error FROM runbook_runs;

CREATE TABLE runbook_steps_0009 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL REFERENCES runbook_runs_0009 (id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('step', 'verify', 'rollback', 'approval',
                  'confirm')),
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
INSERT INTO runbook_steps_0009 (id, run_id, idx, name, kind, action, state, attempt, actor,
    input, output, error, started_at, ended_at)
    SELECT id, run_id, idx, name, kind, action, state, attempt, actor, input, output, error,
    started_at, ended_at FROM runbook_steps;

CREATE TABLE runbook_approvals_0009 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    INTEGER NOT NULL REFERENCES runbook_runs_0009 (id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    decision  TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    actor     TEXT NOT NULL,
    reason    TEXT,
    at        REAL NOT NULL,
    UNIQUE (run_id, idx)
);
INSERT INTO runbook_approvals_0009 (id, run_id, idx, decision, actor, reason, at)
    SELECT id, run_id, idx, decision, actor, reason, at FROM runbook_approvals;

-- the next id continues where the old table's did, even past rows deleted since
DELETE FROM sqlite_sequence WHERE name IN ('runbook_runs_0009', 'runbook_steps_0009',
    'runbook_approvals_0009');
INSERT INTO sqlite_sequence (name, seq)
    SELECT name || '_0009', seq FROM sqlite_sequence
    WHERE name IN ('runbook_runs', 'runbook_steps', 'runbook_approvals');

DROP TABLE runbook_approvals;
DROP TABLE runbook_steps;
DROP TABLE runbook_runs;
ALTER TABLE runbook_runs_0009 RENAME TO runbook_runs;
ALTER TABLE runbook_steps_0009 RENAME TO runbook_steps;
ALTER TABLE runbook_approvals_0009 RENAME TO runbook_approvals;

CREATE INDEX runbook_runs_active ON runbook_runs (state)
    WHERE state IN ('running', 'waiting_approval');
CREATE UNIQUE INDEX runbook_runs_one_per_alert ON runbook_runs (runbook, alert_fingerprint,
    alert_starts_at) WHERE alert_fingerprint IS NOT NULL;
CREATE INDEX runbook_steps_by_run ON runbook_steps (run_id, id);
