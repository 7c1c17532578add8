"""Use cases of access control: users, their API tokens, and the audit trail. The CLI
(`controlplane users|tokens|audit`) calls these; each change is itself audited, with the actor
the door names (`cli:<os user>`, or the API caller)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from controlplane.errors import InvalidInput
from controlplane.security import totp
from controlplane.security.checkpoints import check_checkpoints, write_checkpoint
from controlplane.security.roles import Roles
from controlplane.security.tokens import (
    DEFAULT_TTL_S,
    MAX_TTL_S,
    new_token,
    parse_token,
    secret_hash,
    secret_matches,
)
from controlplane.store import Store, iso
from controlplane.store.users import SessionRecord, TokenRecord, User

__all__ = ["RETENTION_DAYS", "SESSION_TTL_S", "add_user", "audit_document", "create_token",
           "disable_user", "export_audit", "login", "logout", "parse_duration", "prune_audit",
           "revoke_token", "session_user", "token_user", "tokens_document", "users_document",
           "viewer_token"]

RETENTION_DAYS = 3650              # 10 years: the business's requirement for audit logs
SESSION_TTL_S = 8 * 3600           # a working shift
_NAME = re.compile(r"[a-z][a-z0-9._-]{0,63}")
_DURATION = re.compile(r"([0-9]{1,5})([mhd])")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, field: str) -> float:
    """'90d', '12h', '30m' in seconds, at most two years."""
    match = _DURATION.fullmatch(text.strip())
    seconds = int(match[1]) * _UNIT_S[match[2]] if match else 0
    if not 0 < seconds <= MAX_TTL_S:
        raise InvalidInput("must be a duration like 90d, 12h or 30m, at most 730d",
                           field=field, value=text)
    return float(seconds)


def add_user(store: Store, roles: Roles, name: str, role: str, with_totp: bool,
             actor: str) -> tuple[User, str | None]:
    """The new user and its TOTP secret (shown once), if asked for."""
    if not _NAME.fullmatch(name):
        raise InvalidInput("must be 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter",
                           field="NAME", value=name)
    roles.check_role(role)
    secret = totp.new_secret() if with_totp else None
    user = store.add_user(name, role, secret)
    store.audit(actor, "user.add", name, "ok", {"role": role, "totp": with_totp})
    return user, secret


def disable_user(store: Store, name: str, actor: str) -> User:
    user = store.disable_user(name)
    store.audit(actor, "user.disable", name, "ok", {})
    return user


def create_token(store: Store, user: str, ttl_s: float | None, label: str,
                 actor: str) -> tuple[TokenRecord, str]:
    """The token record and its text, which is shown once and never stored."""
    if len(label) > 100:
        raise InvalidInput("must be at most 100 characters", field="--label", value=label)
    found = store.get_user(user)
    if found is not None and not found.active:
        raise InvalidInput("is disabled", field="--user", value=user,
                           fix="A disabled user gets no new token")
    token = new_token()
    now = store.now()
    record = store.add_token(token.id, user, secret_hash(token.secret),
                             now + (ttl_s or DEFAULT_TTL_S), label)
    store.audit(actor, "token.create", f"{user} {token.id}", "ok",
                {"expires_at": record.expires_at, "label": label})
    return record, token.text


def viewer_token(store: Store, roles: Roles, name: str, actor: str) -> str:
    """A fresh 7-day API token of the viewer `name`, added first if missing: the demo's
    sign-in to the web UI (read-only, no second factor)."""
    if store.get_user(name) is None:
        add_user(store, roles, name, "viewer", False, actor)
    return create_token(store, name, 7 * 86400.0, "web UI demo", actor)[1]


def revoke_token(store: Store, token_id: str, actor: str) -> TokenRecord:
    record = store.revoke_token(token_id)
    store.audit(actor, "token.revoke", f"{record.user} {token_id}", "ok", {})
    return record


def token_user(store: Store, text: str, now: float) -> tuple[User, TokenRecord] | None:
    """The active user an API token belongs to, if the token is well-formed, known, active
    and its secret matches (compared in constant time); its last use is recorded."""
    parsed = parse_token(text)
    if parsed is None:
        return None
    record = store.get_token(parsed[0])
    if record is None or record.state(now) != "active" or not secret_matches(
            parsed[1], record.secret_sha256):
        return None
    user = store.get_user(record.user)
    if user is None or not user.active:
        return None
    store.touch_token(record.id)
    return user, record


def login(store: Store, token_text: str, totp_code: str | None,
          ttl_s: float = SESSION_TTL_S) -> tuple[str, SessionRecord, User]:
    """A browser session for the owner of `token_text` (and, when the user has a second
    factor, a fresh TOTP code): (the session id for the cookie, the session, the user).
    InvalidInput naming what is wrong; nothing is opened then."""
    now = store.now()
    found = token_user(store, token_text, now)
    if found is None:
        raise InvalidInput("is not a valid, active API token", field="token", value="(hidden)",
                           fix="Create one with `controlplane tokens create --user NAME`")
    user, _ = found
    secret = store.totp_secret(user.name)
    if secret is not None:
        step = totp.matching_step(secret, totp_code or "", now)
        if step is None or not store.spend_totp_step(user.name, step):
            raise InvalidInput("a fresh TOTP code from the user's authenticator is needed",
                               field="totp", value="(hidden)")
    session_id = secrets.token_urlsafe(32)
    session = store.add_session(secret_hash(session_id), user.name, secrets.token_urlsafe(24),
                                now + ttl_s)
    store.audit(user.name, "session.login", user.name, "ok", {"expires_at": session.expires_at})
    return session_id, session, user


def session_user(store: Store, session_id: str, now: float
                 ) -> tuple[User, SessionRecord] | None:
    session = store.get_session(secret_hash(session_id))
    if session is None or not session.active(now):
        return None
    user = store.get_user(session.user)
    if user is None or not user.active:
        return None
    return user, session


def logout(store: Store, session_id: str, actor: str) -> None:
    store.end_session(secret_hash(session_id))
    store.audit(actor, "session.logout", actor, "ok", {})


def users_document(store: Store) -> dict[str, Any]:
    return {"users": [{"name": u.name, "role": u.role, "totp": u.has_totp,
                       "created_at": iso(u.created_at), "disabled_at": iso(u.disabled_at)}
                      for u in store.users()]}


def tokens_document(store: Store, user: str | None = None) -> dict[str, Any]:
    now = store.now()
    return {"tokens": [{"id": t.id, "user": t.user, "label": t.label, "state": t.state(now),
                        "created_at": iso(t.created_at), "expires_at": iso(t.expires_at),
                        "last_used_at": iso(t.last_used_at)}
                       for t in store.tokens(user)]}


def audit_document(store: Store, state_dir: Path) -> dict[str, Any]:
    """The chain verified, then its signed checkpoints: the first bad entry, or ok."""
    count, problem = store.verify_audit()
    if problem is None:
        problem = check_checkpoints(state_dir, store)
    head = store.audit_head()
    return {"ok": problem is None, "entries": count,
            "head": None if head is None else {"seq": head.seq, "hash": head.hash},
            "first_bad": None if problem is None else {"seq": problem.seq,
                                                       "problem": problem.problem}}


def export_audit(store: Store, since: float | None) -> Iterator[str]:
    """The entries from `since` on, one JSON object a line (JSON Lines)."""
    for entry in store.audit_entries(since):
        yield json.dumps({**entry.as_json(), "at_iso": iso(entry.at)}, sort_keys=True)


def prune_audit(store: Store, state_dir: Path, retention_days: int, actor: str
                ) -> dict[str, Any]:
    """Delete the entries older than the retention (audited); checkpoint the head first, so
    the evidence of what was kept survives the cut."""
    if not 1 <= retention_days <= 36_500:
        raise InvalidInput("must be 1 to 36500 days", field="--retention-days",
                           value=retention_days)
    write_checkpoint(state_dir, store, store.now())
    entry = store.prune_audit(store.now() - retention_days * 86400.0, actor)
    return {"pruned": 0 if entry is None else entry.detail["deleted"],
            "retention_days": retention_days}
