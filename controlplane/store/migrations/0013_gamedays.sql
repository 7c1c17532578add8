-- Unattended GameDays and their schedules (issue 12 items 4 and 5).
--
-- A GameDay is a list of experiments run in a row. Its progress is here, one row per
-- experiment, written as each starts and ends, so that after the control plane dies
-- (SIGKILL, power) `gameday resume` reverts the one that was running, records it
-- `interrupted`, and goes on at the next `pending` one.
--
-- Every decision of the scheduler (started, skipped in a freeze window, skipped because a
-- GameDay was already running, missed while the service was down) is a row of
-- gameday_decisions, one per schedule and due time.

CREATE TABLE gamedays (
    id          TEXT PRIMARY KEY,
    targets     TEXT NOT NULL,                -- JSON list: what `gameday run` was given
    policy      TEXT NOT NULL,                -- the guardrails profile's file
    schedule    TEXT,                         -- the schedule that started it, if any
    state       TEXT NOT NULL DEFAULT 'running'
                CHECK (state IN ('running', 'finished')),
    pid         INTEGER,                      -- the process running it now
    started_at  REAL NOT NULL,
    resumed_at  REAL,
    ended_at    REAL,
    report_dir  TEXT NOT NULL,
    summary     TEXT                          -- JSON, once finished
);

CREATE TABLE gameday_experiments (
    gameday_id  TEXT NOT NULL REFERENCES gamedays (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    experiment  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'running', 'passed', 'failed', 'aborted',
                                 'skipped', 'refused', 'interrupted')),
    run_id      TEXT,                         -- the chaos run, once it started
    fault_ids   TEXT NOT NULL DEFAULT '[]',   -- JSON list of the run's fault ids
    reverted    INTEGER,                      -- 1: every fault verified reverted
    reason      TEXT,
    outcome     TEXT,                         -- JSON: the run's summary, as in report.json
    started_at  REAL,
    ended_at    REAL,
    PRIMARY KEY (gameday_id, position)
);

CREATE TABLE gameday_decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule    TEXT NOT NULL,
    due_at      REAL NOT NULL,
    decided_at  REAL NOT NULL,
    decision    TEXT NOT NULL
                CHECK (decision IN ('started', 'skipped-freeze', 'skipped-overlap', 'missed')),
    reason      TEXT NOT NULL,
    gameday_id  TEXT,
    UNIQUE (schedule, due_at)
);
CREATE INDEX gameday_decisions_by_schedule ON gameday_decisions (schedule, due_at);
