"""Time-based one-time passwords, RFC 6238 (HOTP of RFC 4226 over 30 s steps), the second
factor of sensitive operations. Any authenticator app reads the `otpauth://` URI."""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
from urllib.parse import quote

__all__ = ["code_at", "hotp", "matching_step", "new_secret", "provisioning_uri", "verify"]

STEP_S = 30
DIGITS = 6


def new_secret() -> str:
    """160 random bits in base32, RFC 4226's recommended key length."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret_b32: str) -> bytes:
    padded = secret_b32.upper() + "=" * (-len(secret_b32) % 8)
    return base64.b32decode(padded)


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def code_at(secret_b32: str, at: float, digits: int = DIGITS) -> str:
    return hotp(_key(secret_b32), int(at // STEP_S), digits)


def verify(secret_b32: str, code: str, at: float, window: int = 1) -> bool:
    """Whether `code` is the code of `at`'s step or of `window` steps either side (clock
    drift between the phone and the server)."""
    return matching_step(secret_b32, code, at, window) is not None


def matching_step(secret_b32: str, code: str, at: float, window: int = 1) -> int | None:
    """The 30 s step whose code `code` is (within `window` steps of `at`), or None: a caller
    that spends each step once refuses a replayed code."""
    if not (isinstance(code, str) and code.isdigit() and len(code) == DIGITS):
        return None
    key, step = _key(secret_b32), int(at // STEP_S)
    for d in range(-window, window + 1):
        if hmac.compare_digest(hotp(key, step + d), code):
            return step + d
    return None


def provisioning_uri(user: str, secret_b32: str, issuer: str = "controlplane") -> str:
    return (f"otpauth://totp/{quote(issuer)}:{quote(user)}?secret={secret_b32}"
            f"&issuer={quote(issuer)}&algorithm=SHA1&digits={DIGITS}&period={STEP_S}")


