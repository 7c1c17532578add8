"""Every route of the service against every role: a route without a rule fails here, and each
(route, role) is allowed exactly when policies/roles.yaml grants the route's permission; without
a credential every guarded route answers 401. Allowed means the access check let the request
through (the handler may still answer 400 or 503 to the empty request); denied means 401/403
and, for a mutating route, that nothing was done: no audit entry but the refusal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from controlplane.security.roles import load_roles
from controlplane.server import ServerSettings, create_app
from controlplane.server.access import ACCESS, ANYONE, AUTHENTICATED, ROUTE_PERMISSIONS
from controlplane.store import Store, db_path
from tests.server.conftest import serving
from tests.support.credentials import TOKENS

ROLES = load_roles()
SAMPLE = {"trace_id": "0" * 32, "drill_id": "1", "run_id": "no-such-run", "request_id": "999",
          "name": "no-such-runbook", "launch_id": "no-such-launch"}


def _routes() -> set[tuple[str, str]]:
    app = create_app(ServerSettings(port=0), CollectorRegistry())
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        found.add((route.method, route.resource.canonical))
    return found


def test_every_route_has_an_access_rule_and_every_rule_a_route() -> None:
    routes = _routes()
    assert sorted(routes - set(ROUTE_PERMISSIONS)) == [], "routes without an access rule"
    assert sorted(set(ROUTE_PERMISSIONS) - routes) == [], "rules for routes that do not exist"
    permissions = {p for p in ROUTE_PERMISSIONS.values() if p not in (ANYONE, AUTHENTICATED)}
    unused = permissions - set().union(*ROLES.granted.values())
    assert unused == set(), "permissions no role holds"


def _path(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m[1]], template)


CASES = [(method, route, role) for (method, route) in sorted(ROUTE_PERMISSIONS)
         for role in [*sorted(TOKENS), None]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    state = tmp_path_factory.mktemp("matrix")
    with serving(ServerSettings(port=0, state_dir=state)) as running:
        yield running, state


@pytest.mark.parametrize(("method", "route", "role"), CASES,
                         ids=[f"{m} {r} as {role}" for m, r, role in CASES])
def test_route_by_role(server, method: str, route: str, role: str | None) -> None:
    running, state = server
    rule = ROUTE_PERMISSIONS[(method, route)]
    headers = {"Content-Type": "application/json"}
    if role is not None:
        headers["Authorization"] = f"Bearer {TOKENS[role]}"
    body = b"{}" if method in ("POST", "DELETE") else None
    running.app[ACCESS].failures.clear()       # each refusal here is one client's first
    with Store(db_path(state)) as store:
        before = store.audit_head()
    status, _, reply = running.request(_path(route), body, headers, auth=False,
                                       method=method)
    if rule == ANYONE:
        allowed = True
    elif role is None:
        allowed = False
    else:
        allowed = rule == AUTHENTICATED or ROLES.allows(role, rule)
    if allowed:
        assert status not in (401, 403), (status, reply[:300])
    else:
        assert status == (401 if role is None else 403), (status, reply[:300])
        with Store(db_path(state)) as store:
            new = [e for e in store.audit_entries()
                   if before is None or e.seq > before.seq]
        assert [e.action for e in new] == ["auth.failed" if role is None else "auth.denied"]


def test_people_roles_widen_in_order(tmp_path: Path) -> None:
    viewer, operator, sre, admin = (ROLES.granted[r] for r in
                                    ("viewer", "operator", "sre", "admin"))
    assert viewer < operator < sre < admin
    assert "chaos:halt" in operator and "chaos:resume" not in operator
    assert "alerts:write" not in admin and "telemetry:write" not in admin
