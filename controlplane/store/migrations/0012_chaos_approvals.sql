-- The two-person rule on experiments (issue 10 item 4): a run under a guardrails profile that
-- says `approval: {required: true}` (the production profile) is first a request here, and no
-- fault is injected until `approvers` people other than the one who asked approved it, each
-- with a fresh TOTP code. Each person's vote is a row of chaos_approval_votes, as
-- runbook_votes holds a step's. An approved request releases one run: `chaos run --request`
-- marks it `released` as the run starts, so an approval is spent once.

CREATE TABLE chaos_approvals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    target       TEXT NOT NULL,            -- what `chaos run` was given
    policy       TEXT NOT NULL,            -- the guardrails profile's file
    requested_by TEXT NOT NULL,
    approvers    INTEGER NOT NULL CHECK (approvers >= 1),
    state        TEXT NOT NULL DEFAULT 'waiting'
                 CHECK (state IN ('waiting', 'approved', 'rejected', 'released')),
    decided_by   TEXT,
    reason       TEXT,
    requested_at REAL NOT NULL,
    decided_at   REAL
);

CREATE TABLE chaos_approval_votes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id    INTEGER NOT NULL REFERENCES chaos_approvals (id) ON DELETE CASCADE,
    actor         TEXT NOT NULL,
    decision      TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason        TEXT,
    second_factor INTEGER NOT NULL DEFAULT 0,
    at            REAL NOT NULL,
    UNIQUE (request_id, actor)
);
