-- Chaos experiment runs (one row per experiment run, grouped by suite run), their timelines,
-- and the halt switch that blocks new experiments until resumed.

CREATE TABLE chaos_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT NOT NULL UNIQUE,
    suite_id    TEXT,
    experiment  TEXT NOT NULL,
    title       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('running', 'passed', 'failed', 'aborted',
                                               'skipped', 'refused')),
    reason      TEXT,
    pid         INTEGER,
    started_at  REAL NOT NULL,
    ended_at    REAL,
    tags        TEXT NOT NULL CHECK (json_valid(tags)),
    result      TEXT CHECK (result IS NULL OR json_valid(result))
);
CREATE INDEX chaos_runs_by_suite ON chaos_runs (suite_id, id);
CREATE INDEX chaos_runs_running ON chaos_runs (state) WHERE state = 'running';

CREATE TABLE chaos_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT NOT NULL REFERENCES chaos_runs (run_id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL CHECK (json_valid(detail))
);
CREATE INDEX chaos_events_by_run ON chaos_events (run_id, at);

CREATE TABLE chaos_halt (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    halted      INTEGER NOT NULL CHECK (halted IN (0, 1)),
    reason      TEXT,
    at          REAL NOT NULL
);
