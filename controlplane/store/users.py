"""Users and their API tokens. A token is stored as the SHA-256 of its secret, never the secret
itself (controlplane/security/tokens.py makes and checks them)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from controlplane.errors import InvalidInput
from controlplane.store.records import Records

__all__ = ["SessionRecord", "TokenRecord", "User", "UserRecords"]


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    has_totp: bool
    created_at: float
    disabled_at: float | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    user: str
    secret_sha256: str
    label: str
    created_at: float
    expires_at: float
    revoked_at: float | None
    last_used_at: float | None

    def state(self, now: float) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id_sha256: str
    user: str
    csrf: str
    created_at: float
    expires_at: float
    ended_at: float | None

    def active(self, now: float) -> bool:
        return self.ended_at is None and now < self.expires_at


class UserRecords(Records):
    def add_user(self, name: str, role: str, totp_secret: str | None) -> User:
        try:
            self._insert("INSERT INTO users (name, role, totp_secret, created_at) "
                         "VALUES (?, ?, ?, ?)", (name, role, totp_secret, self._clock()))
        except sqlite3.IntegrityError:
            raise InvalidInput("a user of this name exists", field="NAME", value=name,
                               fix="Pick another name, or see `controlplane users list`") from None
        user = self.get_user(name)
        assert user is not None
        return user

    def get_user(self, name: str) -> User | None:
        row = self._one("SELECT * FROM users WHERE name = ?", (name,))
        return None if row is None else _user(row)

    def totp_secret(self, name: str) -> str | None:
        row = self._one("SELECT totp_secret FROM users WHERE name = ?", (name,))
        return None if row is None else row["totp_secret"]

    def spend_totp_step(self, name: str, step: int) -> bool:
        """Record that `name` used the code of 30 s step `step`; False when that step or a
        later one was already used (a replayed code)."""
        row = self._one("UPDATE users SET totp_last_step = ? WHERE name = ? AND "
                        "(totp_last_step IS NULL OR totp_last_step < ?) RETURNING name",
                        (step, name, step))
        return row is not None

    def users(self) -> list[User]:
        return [_user(r) for r in self._conn.execute("SELECT * FROM users ORDER BY name")]

    def disable_user(self, name: str) -> User:
        """A disabled user's tokens stop working; the user stays, for the audit trail."""
        row = self._one("UPDATE users SET disabled_at = COALESCE(disabled_at, ?) WHERE name = ? "
                        "RETURNING *", (self._clock(), name))
        if row is None:
            raise InvalidInput("no such user", field="NAME", value=name,
                               fix="See `controlplane users list`")
        return _user(row)

    def add_token(self, token_id: str, user: str, secret_sha256: str, expires_at: float,
                  label: str = "") -> TokenRecord:
        if self.get_user(user) is None:
            raise InvalidInput("no such user", field="--user", value=user,
                               fix="Add it first with `controlplane users add NAME --role ROLE`")
        row = self._insert("INSERT INTO api_tokens (id, user_name, secret_sha256, label, "
                           "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                           (token_id, user, secret_sha256, label, self._clock(), expires_at))
        return _token(row)

    def get_token(self, token_id: str) -> TokenRecord | None:
        row = self._one("SELECT * FROM api_tokens WHERE id = ?", (token_id,))
        return None if row is None else _token(row)

    def tokens(self, user: str | None = None) -> list[TokenRecord]:
        rows = self._conn.execute("SELECT * FROM api_tokens WHERE (? IS NULL OR user_name = ?) "
                                  "ORDER BY created_at", (user, user))
        return [_token(r) for r in rows]

    def revoke_token(self, token_id: str) -> TokenRecord:
        row = self._one("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) "
                        "WHERE id = ? RETURNING *", (self._clock(), token_id))
        if row is None:
            raise InvalidInput("no token with this id", field="TOKEN_ID", value=token_id,
                               fix="See `controlplane tokens list`")
        return _token(row)

    def add_session(self, id_sha256: str, user: str, csrf: str,
                    expires_at: float) -> SessionRecord:
        return _session(self._insert(
            "INSERT INTO sessions (id_sha256, user_name, csrf, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)", (id_sha256, user, csrf, self._clock(), expires_at)))

    def get_session(self, id_sha256: str) -> SessionRecord | None:
        row = self._one("SELECT * FROM sessions WHERE id_sha256 = ?", (id_sha256,))
        return None if row is None else _session(row)

    def end_session(self, id_sha256: str) -> None:
        self._conn.execute("UPDATE sessions SET ended_at = COALESCE(ended_at, ?) "
                           "WHERE id_sha256 = ?", (self._clock(), id_sha256))

    def touch_token(self, token_id: str) -> None:
        self._conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
                           (self._clock(), token_id))


def _user(row: sqlite3.Row) -> User:
    return User(row["name"], row["role"], row["totp_secret"] is not None, row["created_at"],
                row["disabled_at"])


def _token(row: sqlite3.Row) -> TokenRecord:
    return TokenRecord(row["id"], row["user_name"], row["secret_sha256"], row["label"],
                       row["created_at"], row["expires_at"], row["revoked_at"],
                       row["last_used_at"])


def _session(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(row["id_sha256"], row["user_name"], row["csrf"], row["created_at"],
                         row["expires_at"], row["ended_at"])
