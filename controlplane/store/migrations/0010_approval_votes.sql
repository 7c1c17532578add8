-- The two-person rule (issue 10): a step of a sensitive runbook needs approvals from people
-- other than the one who asked, as many as the runbook says, each with a fresh TOTP code.
-- Each person's vote is a row here; once enough approvals are in (or one rejection), the
-- decision goes to runbook_approvals, which the engine waits on as before. A TOTP code is
-- spent once: totp_last_step is the 30 s step of the last code a user gave.

CREATE TABLE runbook_votes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        INTEGER NOT NULL REFERENCES runbook_runs (id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    decision      TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason        TEXT,
    second_factor INTEGER NOT NULL DEFAULT 0,
    at            REAL NOT NULL,
    UNIQUE (run_id, idx, actor)
);

ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
