-- Load runs (issue #4): one row per `controlplane load run`, with its verdict and figures,
-- and capacity calibrations, the measured basis of `controlplane load plan`.

CREATE TABLE load_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    profile     TEXT NOT NULL,
    mode        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('running', 'passed', 'failed', 'invalid',
                                               'aborted', 'error')),
    started_at  REAL NOT NULL,
    ended_at    REAL,
    out_dir     TEXT NOT NULL,
    params      TEXT NOT NULL CHECK (json_valid(params)),
    result      TEXT CHECK (result IS NULL OR json_valid(result))
);
CREATE INDEX load_runs_by_start ON load_runs (started_at DESC);

CREATE TABLE load_calibrations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    profile     TEXT NOT NULL,
    measured_at REAL NOT NULL,
    result      TEXT NOT NULL CHECK (json_valid(result))
);
CREATE INDEX load_calibrations_by_profile ON load_calibrations (profile, measured_at DESC);
