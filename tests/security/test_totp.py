"""TOTP against RFC 6238's own test vectors (Appendix B, SHA-1, 8 digits), and the window a
code is accepted in."""

from __future__ import annotations

import base64

import pytest

from controlplane.security import totp

RFC_KEY = b"12345678901234567890"
RFC_SHA1 = [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
            (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")]


@pytest.mark.parametrize(("at", "code"), RFC_SHA1)
def test_rfc_6238_vectors(at: int, code: str) -> None:
    assert totp.hotp(RFC_KEY, at // totp.STEP_S, digits=8) == code


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    secret = base64.b32encode(RFC_KEY).decode()
    at = 1_700_000_000.0
    code = totp.code_at(secret, at)
    assert totp.verify(secret, code, at)
    assert totp.verify(secret, code, at + 30) and totp.verify(secret, code, at - 30)
    assert not totp.verify(secret, code, at + 90)
    assert not totp.verify(secret, "12345", at) and not totp.verify(secret, "abcdef", at)


def test_a_new_secret_is_160_bits_and_its_uri_names_user_and_issuer() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20
    uri = totp.provisioning_uri("alice", secret)
    assert uri.startswith("otpauth://totp/controlplane:alice?secret=" + secret)
