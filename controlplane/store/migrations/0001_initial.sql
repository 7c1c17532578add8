-- Drills (a fault under load with RTO/RPO measured) and their timelines, and the faults the
-- control plane has injected, written before injection so a crash leaves a record to revert.
-- JSON columns hold objects; the application validates them before writing.

CREATE TABLE drills (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('running', 'passed', 'failed', 'aborted')),
    started_at  REAL NOT NULL,
    ended_at    REAL,
    params      TEXT NOT NULL CHECK (json_valid(params)),
    result      TEXT CHECK (result IS NULL OR json_valid(result))
);
CREATE INDEX drills_by_start ON drills (started_at DESC);
CREATE INDEX drills_by_kind ON drills (kind, started_at DESC);

CREATE TABLE drill_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    drill_id    INTEGER NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL CHECK (json_valid(detail))
);
CREATE INDEX drill_events_by_drill ON drill_events (drill_id, at);

CREATE TABLE faults (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    target        TEXT NOT NULL,
    run_id        TEXT,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'injected', 'reverted', 'failed')),
    revert        TEXT NOT NULL CHECK (json_valid(revert)),
    recorded_at   REAL NOT NULL,
    injected_at   REAL,
    reverted_at   REAL,
    revert_detail TEXT CHECK (revert_detail IS NULL OR json_valid(revert_detail)),
    error         TEXT
);
CREATE INDEX faults_open ON faults (state) WHERE state IN ('pending', 'injected');
CREATE INDEX faults_by_run ON faults (run_id);
