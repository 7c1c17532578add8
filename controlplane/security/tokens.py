"""API tokens: `cp_<id>_<secret>`, the secret 32 random bytes (URL-safe base64). The store
keeps the id and the SHA-256 of the secret; a presented token is looked up by id and its
secret compared in constant time. Machine credentials (the alert intake, telemetry, the
Prometheus scrape) are tokens of the same shape kept in a file the service reads at start."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = ["DEFAULT_TTL_S", "MAX_TTL_S", "NewToken", "new_token", "parse_token", "secret_hash",
           "secret_matches"]

DEFAULT_TTL_S = 90 * 86400
MAX_TTL_S = 2 * 365 * 86400
_TOKEN = re.compile(r"cp_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class NewToken:
    id: str
    secret: str

    @property
    def text(self) -> str:
        """What the user is shown once, and sends as `Authorization: Bearer <text>`."""
        return f"cp_{self.id}_{self.secret}"


def new_token() -> NewToken:
    return NewToken(secrets.token_hex(6), secrets.token_urlsafe(32))


def parse_token(text: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    match = _TOKEN.fullmatch(text)
    return (match[1], match[2]) if match else None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_sha256)
