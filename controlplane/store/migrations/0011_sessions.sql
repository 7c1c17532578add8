-- Browser sessions for the web UI (issue 10 item 2): a login with an API token (and the user's
-- TOTP code when they have one) opens a session; the browser holds its id in an HttpOnly,
-- SameSite=Strict cookie, and every mutating request also carries the session's CSRF token in
-- a header. The id is stored as its SHA-256, as API tokens are.

CREATE TABLE sessions (
    id_sha256  TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES users (name),
    csrf       TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    ended_at   REAL
);
