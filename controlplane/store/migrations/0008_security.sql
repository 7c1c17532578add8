-- Who may act (issue 10): users with a role and an optional TOTP second factor, API tokens
-- stored as SHA-256 of their secret (a token is 192 random bits, so a fast hash is enough: no
-- dictionary to guess from), and the audit trail, an append-only hash chain. Each entry holds
-- the hash of the one before it; `controlplane audit verify` recomputes the chain and names the
-- first entry that was edited, deleted or moved. Signed checkpoints of the chain's head are
-- written outside the database (controlplane/security/audit.py).

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    totp_secret TEXT,
    created_at REAL NOT NULL,
    disabled_at REAL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name),
    secret_sha256 TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL,
    last_used_at REAL
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
