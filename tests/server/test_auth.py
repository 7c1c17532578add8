"""Authentication at the service: user tokens made by the CLI's use cases work until they
expire or are revoked (or their user is disabled); a forged alert without the intake's
credential is refused and starts nothing; failed credentials are audited and rate-limited; a
restart keeps users, tokens and the audit chain; a bad credentials or roles file is refused
naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlplane.application import access
from controlplane.errors import InvalidInput
from controlplane.security.roles import load_roles, roles
from controlplane.server import ServerSettings
from controlplane.server.access import FAILURES_PER_WINDOW, load_credentials
from controlplane.store import Store, db_path
from tests.server.conftest import NOW, FakeClock, serving

FORGED = json.dumps([{"labels": {"alertname": "GatewayCrashLoop", "service": "gateway",
                                 "instance_id": "gateway-0", "severity": "critical"},
                      "startsAt": "2023-11-14T22:13:00Z"}]).encode()
JSON = {"Content-Type": "application/json"}


def _user_token(state: Path, name: str, role: str, ttl_s: float = 3600) -> str:
    with Store(db_path(state), clock=FakeClock()) as store:
        if store.get_user(name) is None:
            access.add_user(store, roles(), name, role, False, "cli:test")
        return access.create_token(store, name, ttl_s, "", "cli:test")[1]


def _as(token: str) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {token}"}


def test_a_forged_alert_without_the_intake_credential_is_a_401_and_stores_nothing(
        tmp_path: Path) -> None:
    with serving(ServerSettings(port=0, state_dir=tmp_path)) as server:
        for headers in (JSON, {**JSON, "Authorization": "Bearer not-a-token"},
                        {**JSON, "Authorization": "Basic YWRtaW46YWRtaW4="}):
            status, reply_headers, body = server.request("/api/v2/alerts", FORGED, headers,
                                                         auth=False)
            assert status == 401, body
            assert reply_headers["WWW-Authenticate"].startswith("Bearer")
        operator = _user_token(tmp_path, "olga", "operator")       # a person, not the intake
        assert server.request("/api/v2/alerts", FORGED, _as(operator), auth=False)[0] == 403
        with Store(db_path(tmp_path)) as store:
            assert store.alert_history() == [] and store.runbook_runs() == []
            actions = [e.action for e in store.audit_entries()]
        assert actions.count("auth.failed") == 3 and actions.count("auth.denied") == 1
        assert server.request("/api/v2/alerts", FORGED, JSON)[0] == 200  # the intake's own


def test_a_user_token_works_until_revoked_and_names_its_user(tmp_path: Path) -> None:
    with serving(ServerSettings(port=0, state_dir=tmp_path)) as server:
        token = _user_token(tmp_path, "vera", "viewer")
        status, _, body = server.request("/api/v1/whoami", None, _as(token), auth=False)
        assert status == 200 and json.loads(body)["name"] == "vera"
        assert "chaos:halt" not in json.loads(body)["permissions"]
        assert server.request("/api/v1/drills", None, _as(token), auth=False)[0] == 200
        assert server.request("/api/v1/chaos/halt", b"{}", _as(token), auth=False)[0] == 403
        with Store(db_path(tmp_path)) as store:
            [record] = store.tokens("vera")
            assert record.last_used_at is not None
            access.revoke_token(store, record.id, "cli:test")
        assert server.request("/api/v1/whoami", None, _as(token), auth=False)[0] == 401


def test_an_expired_token_or_a_disabled_user_is_refused(tmp_path: Path) -> None:
    clock = FakeClock()
    with serving(ServerSettings(port=0, state_dir=tmp_path), clock) as server:
        short = _user_token(tmp_path, "sam", "sre", ttl_s=60)
        assert server.request("/api/v1/whoami", None, _as(short), auth=False)[0] == 200
        clock.now = NOW + 61
        assert server.request("/api/v1/whoami", None, _as(short), auth=False)[0] == 401
        other = _user_token(tmp_path, "oscar", "operator", ttl_s=3600)
        with Store(db_path(tmp_path)) as store:
            access.disable_user(store, "oscar", "cli:test")
        assert server.request("/api/v1/whoami", None, _as(other), auth=False)[0] == 401
        with Store(db_path(tmp_path)) as store, pytest.raises(InvalidInput, match="disabled"):
            access.create_token(store, "oscar", 60, "", "cli:test")


def test_a_wrong_secret_with_a_real_token_id_is_refused(tmp_path: Path) -> None:
    with serving(ServerSettings(port=0, state_dir=tmp_path)) as server:
        token = _user_token(tmp_path, "ada", "admin")
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert server.request("/api/v1/whoami", None, _as(forged), auth=False)[0] == 401


def test_failed_credentials_are_rate_limited_per_client(tmp_path: Path) -> None:
    with serving(ServerSettings(port=0, state_dir=tmp_path)) as server:
        bad = {**JSON, "Authorization": "Bearer cp_000000000000_" + "x" * 43}
        codes = [server.request("/api/v1/drills", None, bad, auth=False)[0]
                 for _ in range(FAILURES_PER_WINDOW + 3)]
        assert codes == [401] * FAILURES_PER_WINDOW + [429] * 3
        with Store(db_path(tmp_path)) as store:     # the 429s are counted, not audited
            failed = [e for e in store.audit_entries() if e.action == "auth.failed"]
        assert len(failed) == FAILURES_PER_WINDOW
        assert server.metric("controlplane_http_denied_total", {"reason": "rate limited"}) == 3
        assert server.request("/api/v1/drills", None)[0] == 200    # a valid one still passes


def test_users_tokens_and_the_audit_chain_survive_a_restart(tmp_path: Path) -> None:
    settings = ServerSettings(port=0, state_dir=tmp_path)
    with serving(settings) as server:
        token = _user_token(tmp_path, "otto", "operator")
        assert server.request("/api/v1/chaos/halt", b'{"reason": "drill"}', _as(token),
                              auth=False)[0] != 401
    with serving(settings) as server:
        status, _, body = server.request("/api/v1/whoami", None, _as(token), auth=False)
        assert (status, json.loads(body)["name"]) == (200, "otto")
        status, _, body = server.request("/api/v1/audit/verify", None)
        verified = json.loads(body)
    assert status == 200 and verified["ok"] is True and verified["entries"] >= 3
    with Store(db_path(tmp_path)) as store:
        actions = [(e.actor, e.action) for e in store.audit_entries()]
    assert ("otto", "POST /api/v1/chaos/halt") in actions
    assert (tmp_path / "audit" / "checkpoints.jsonl").exists()     # written at shutdown


@pytest.mark.parametrize(("content", "words"), [
    (b"", "cannot read"), (b"[1]", "JSON object"), (b'{"x": {"role": "admin"}}', "x"),
    (b'{"x": {"role": "admin", "token": "short"}}', "16"), (b"\xff\xfe", "cannot read"),
    (b"[" * 100_000, "cannot read"),
])
def test_a_bad_credentials_file_is_refused_naming_it(tmp_path: Path, content: bytes,
                                                     words: str) -> None:
    path = tmp_path / "credentials.json"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=words) as err:
        load_credentials(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(("text", "field"), [
    ("roles: {viewer: {permissions: [records:reed]}}", "roles.viewer.permissions[0]"),
    ("roles: {a: {includes: [b]}, b: {includes: [a]}}", "roles.a.includes"),
    ("roles: {a: {includes: [nobody]}}", "roles.a.includes[0]"),
    ("roles: {a: {permission: [records:read]}}", "roles.a.permission"),
    ("", ""),
])
def test_a_bad_roles_file_is_refused_naming_the_field(tmp_path: Path, text: str,
                                                      field: str) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as err:
        load_roles(path)
    assert str(path) in str(err.value) and field in str(err.value)
