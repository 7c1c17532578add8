"""Browser sessions (issue 10 item 2): a login with an API token, and the TOTP code of a user
who has one, sets an HttpOnly, SameSite=Strict cookie; with the cookie, reads work and a
request that changes something needs the session's CSRF token too; a logout or the expiry ends
it; a failed login is a 401, audited and rate-limited, and opens nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from controlplane.application import access
from controlplane.security import totp
from controlplane.security.roles import roles
from controlplane.server import ServerSettings
from controlplane.server.access import FAILURES_PER_WINDOW
from controlplane.store import Store, db_path
from tests.server.conftest import RunningServer, serving

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def server(tmp_path: Path):
    with serving(ServerSettings(port=0, state_dir=tmp_path), time.time) as running:
        yield running


def _user(state: Path, name: str, role: str, with_totp: bool) -> tuple[str, str | None]:
    with Store(db_path(state)) as store:
        _, secret = access.add_user(store, roles(), name, role, with_totp, "cli:test")
        return access.create_token(store, name, 3600, "", "cli:test")[1], secret


def _login(server: RunningServer, body: dict) -> tuple[int, dict[str, str], dict]:
    status, headers, reply = server.request("/api/v1/sessions", json.dumps(body).encode(),
                                            JSON, auth=False)
    return status, headers, json.loads(reply)


def _as_browser(server: RunningServer, path: str, cookie: str, body: bytes | None = None,
                csrf: str | None = None, method: str | None = None) -> int:
    headers = {**JSON, "Cookie": cookie}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return server.request(path, body, headers, auth=False, method=method)[0]


def test_a_session_reads_with_its_cookie_and_changes_only_with_its_csrf_token(
        server: RunningServer, tmp_path: Path) -> None:
    token, secret = _user(tmp_path, "olga", "operator", True)
    assert secret is not None
    status, _, reply = _login(server, {"token": token})
    assert status == 401 and reply["error"]["field"] == "totp"       # her second factor
    status, headers, reply = _login(server, {"token": token,
                                             "totp": totp.code_at(secret, time.time())})
    assert status == 200 and reply["user"] == "olga", reply
    cookie_header = headers["Set-Cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=Strict" in cookie_header
    cookie = cookie_header.split(";")[0]
    assert _as_browser(server, "/api/v1/whoami", cookie) == 200
    pause = b'{"reason": "maintenance"}'
    assert _as_browser(server, "/api/v1/runbooks/automation/pause", cookie, pause) == 403
    assert _as_browser(server, "/api/v1/runbooks/automation/pause", cookie, pause,
                       csrf="not-it") == 403
    assert _as_browser(server, "/api/v1/runbooks/automation/pause", cookie, pause,
                       csrf=reply["csrf_token"]) == 200
    with Store(db_path(tmp_path)) as store:
        actions = [(e.actor, e.action) for e in store.audit_entries()]
        assert store.automation_state().paused
    assert ("olga", "session.login") in actions
    assert actions.count(("olga", "auth.csrf")) == 2
    assert _as_browser(server, "/api/v1/sessions", cookie, b"{}", csrf=reply["csrf_token"],
                       method="DELETE") == 200
    assert _as_browser(server, "/api/v1/whoami", cookie) == 401        # logged out


def test_a_user_without_a_second_factor_logs_in_with_the_token_and_the_session_expires(
        tmp_path: Path) -> None:
    clock = [time.time()]
    with serving(ServerSettings(port=0, state_dir=tmp_path), lambda: clock[0]) as server:
        token, _ = _user(tmp_path, "vera", "viewer", False)
        status, headers, reply = _login(server, {"token": token})
        assert status == 200 and reply["role"] == "viewer"
        cookie = headers["Set-Cookie"].split(";")[0]
        assert _as_browser(server, "/api/v1/drills", cookie) == 200
        clock[0] += access.SESSION_TTL_S + 1
        assert _as_browser(server, "/api/v1/drills", cookie) == 401


def test_a_failed_login_opens_nothing_and_is_rate_limited(server: RunningServer,
                                                         tmp_path: Path) -> None:
    bad = {"token": "cp_000000000000_" + "x" * 43}
    codes = [_login(server, bad)[0] for _ in range(FAILURES_PER_WINDOW + 2)]
    assert codes == [401] * FAILURES_PER_WINDOW + [429] * 2
    assert _login(server, {"token": 5})[0] == 400                      # a bad body, not a login
    with Store(db_path(tmp_path)) as store:
        failed = [e for e in store.audit_entries() if e.action == "auth.failed"]
        assert len(failed) == FAILURES_PER_WINDOW
        assert store._conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
