"""Who is calling, and may they: every route of the service names the permission it needs.

A request carries `Authorization: Bearer <token>`: a user's API token (the store keeps its
hash; `controlplane tokens create`) or one of the machine credentials the service was started
with (`controlplane serve --credentials FILE`: the alert intake, telemetry and the Prometheus
scrape, which `cluster up` generates). Without a valid one, a route that needs a permission
answers 401 and runs nothing; with one whose role lacks the permission, 403. A route with no
rule in ROUTE_PERMISSIONS answers 403 too, and tests/server/test_access_matrix.py fails, so a
new route cannot slip in unguarded.

A browser may instead hold a session cookie (`cp_session`, from `POST /api/v1/sessions`,
server/sessions_api.py); a request with it that changes something must also carry the
session's CSRF token in `X-CSRF-Token`, or it is refused with 403.

Failed credentials are audited and rate-limited per client address: past the limit a bad one
gets 429 unaudited, while a valid one still passes.
Every mutating request that passes is audited with its caller and outcome, except the OTLP
trace receiver: spans are telemetry, several a second per service, not operations.
"""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from controlplane.application.access import session_user, token_user
from controlplane.errors import InvalidInput, StoreError
from controlplane.security.roles import Roles
from controlplane.security.tokens import secret_hash
from controlplane.server.errors import error_reply
from controlplane.server.settings import MachineCredential
from controlplane.server.state import STATE
from controlplane.store import Store

__all__ = ["ACCESS", "ANYONE", "AUTHENTICATED", "CSRF_HEADER", "IDENTITY", "ROUTE_PERMISSIONS",
           "SESSION_COOKIE", "Access",
           "Identity", "access_middleware", "load_credentials"]

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ANYONE = "(anyone)"               # no credential needed: the liveness and readiness probes
AUTHENTICATED = "(authenticated)"  # any valid credential
ROUTE_PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): ANYONE,
    ("GET", "/readyz"): ANYONE,
    ("GET", "/metrics"): "metrics:read",
    ("POST", "/v1/traces"): "telemetry:write",
    ("GET", "/api/v1/whoami"): AUTHENTICATED,
    ("POST", "/api/v1/sessions"): ANYONE,          # the login: its handler checks the token
    ("DELETE", "/api/v1/sessions"): AUTHENTICATED,
    ("GET", "/api/v1/openapi.json"): ANYONE,
    ("GET", "/api/v1/traces"): "records:read",
    ("GET", "/api/v1/traces/{trace_id}"): "records:read",
    ("GET", "/api/v1/telemetry/summary"): "records:read",
    ("GET", "/api/v1/drills"): "records:read",
    ("GET", "/api/v1/drills/{drill_id}"): "records:read",
    ("POST", "/api/v2/alerts"): "alerts:write",
    ("GET", "/api/v2/alerts"): "records:read",
    ("GET", "/api/v1/chaos/runs"): "records:read",
    ("GET", "/api/v1/chaos/runs/{run_id}"): "records:read",
    ("GET", "/api/v1/chaos/status"): "records:read",
    ("POST", "/api/v1/chaos/halt"): "chaos:halt",
    ("POST", "/api/v1/chaos/resume"): "chaos:resume",
    ("GET", "/api/v1/runbooks/runs"): "records:read",
    ("GET", "/api/v1/runbooks/runs/{run_id}"): "records:read",
    ("GET", "/api/v1/runbooks/{name}"): "records:read",
    ("POST", "/api/v1/runbooks/runs/{run_id}/approve"): "runbooks:approve",
    ("POST", "/api/v1/runbooks/runs/{run_id}/reject"): "runbooks:approve",
    ("POST", "/api/v1/runbooks/automation/pause"): "automation:pause",
    ("POST", "/api/v1/runbooks/automation/resume"): "automation:pause",
    ("POST", "/api/v1/chaos/runs"): "chaos:run",
    ("POST", "/api/v1/chaos/recover"): "chaos:halt",
    ("GET", "/api/v1/chaos/approvals"): "records:read",
    ("GET", "/api/v1/chaos/approvals/{request_id}"): "records:read",
    ("POST", "/api/v1/chaos/approvals/{request_id}/approve"): "chaos:approve",
    ("POST", "/api/v1/chaos/approvals/{request_id}/reject"): "chaos:approve",
    ("POST", "/api/v1/drills"): "drills:run",
    ("POST", "/api/v1/load/runs"): "load:run",
    ("POST", "/api/v1/runbooks/{name}/runs"): "runbooks:run",
    ("GET", "/api/v1/launches"): "records:read",
    ("GET", "/api/v1/launches/{launch_id}"): "records:read",
    ("GET", "/api/v1/audit"): "audit:read",
    ("GET", "/api/v1/audit/verify"): "audit:read",
    ("GET", "/"): ANYONE,                         # the web UI's pages: no data in them; every
    ("GET", "/ui/"): ANYONE,                      # figure comes from the API with a session
    ("GET", "/ui/{name}"): ANYONE,
    ("GET", "/api/v1/availability"): "records:read",
    ("GET", "/api/v1/alerts/history"): "records:read",
    ("GET", "/api/v1/chaos/experiments"): "records:read",
}
NOT_AUDITED = {"telemetry:write"}
SESSION_COOKIE = "cp_session"
CSRF_HEADER = "X-CSRF-Token"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
FAILURES_PER_WINDOW = 20
FAILURE_WINDOW_S = 60.0


@dataclass(frozen=True)
class Identity:
    name: str                  # a user's name, or "machine:<name>"
    role: str
    token_id: str


IDENTITY = web.RequestKey("identity", Identity)


def load_credentials(path: Path) -> dict[str, MachineCredential]:
    """The machine credentials file, `{"<name>": {"role": ..., "token": ...}}` (mode 0600),
    as settings: each token kept only as its hash. Refused naming the file and the field."""
    source = str(path)
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as err:
        raise InvalidInput(f"cannot read the credentials file: {err}", source=source,
                           fix="Write a JSON object of {name: {role, token}}") from None
    if not isinstance(raw, dict):
        raise InvalidInput("must be a JSON object of {name: {role, token}}", source=source,
                           value=type(raw).__name__)
    out: dict[str, MachineCredential] = {}
    for name, entry in raw.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("role"), str)
                and isinstance(entry.get("token"), str) and len(entry["token"]) >= 16):
            raise InvalidInput("must be an object with a role and a token of 16 or more "
                               "characters", source=source, field=str(name), value=entry)
        out[str(name)] = MachineCredential(role=entry["role"],
                                           token_sha256=secret_hash(entry["token"]))
    return out


@dataclass
class Access:
    """The rules, the machine credentials, and the failed-credential counts."""

    roles: Roles
    machines: dict[str, tuple[str, str]]
    registry: CollectorRegistry
    clock: Callable[[], float] = time.monotonic
    failures: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.denied = Counter("controlplane_http_denied_total", "Requests refused by access "
                              "control, by reason", ["reason"], registry=self.registry)

    def identify(self, header: str, store: Store | None, now: float) -> Identity | None:
        if not header.startswith("Bearer "):
            return None
        token = header.removeprefix("Bearer ").strip()
        machine = self.machines.get(secret_hash(token))
        if machine is not None:
            return Identity(f"machine:{machine[0]}", machine[1], "")
        found = token_user(store, token, now) if store is not None else None
        return None if found is None else Identity(found[0].name, found[0].role, found[1].id)

    def identify_session(self, cookie: str, store: Store | None, now: float
                         ) -> tuple[Identity, str] | None:
        """The identity of a browser session's cookie, and the session's CSRF token."""
        found = session_user(store, cookie, now) if store is not None and cookie else None
        if found is None:
            return None
        user, session = found
        return Identity(user.name, user.role, "session"), session.csrf

    def limited(self, client: str) -> bool:
        now = self.clock()
        recent = [t for t in self.failures.get(client, []) if now - t < FAILURE_WINDOW_S]
        self.failures[client] = recent
        return len(recent) >= FAILURES_PER_WINDOW

    def failed(self, client: str) -> None:
        self.failures.setdefault(client, []).append(self.clock())
        if len(self.failures) > 10_000:            # bounded: forget the oldest clients
            for stale in list(self.failures)[:5_000]:
                del self.failures[stale]


ACCESS = web.AppKey("access", Access)


def route_rule(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    method = "GET" if request.method == "HEAD" else request.method
    return ROUTE_PERMISSIONS.get((method, resource.canonical))


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:    # no such route or method: 404/405
        return await handler(request)
    access = request.app[ACCESS]
    rule = route_rule(request)
    if rule is None:
        access.denied.labels("no rule").inc()
        return error_reply(403, "this route has no access rule, so it is closed",
                           "route", request.path)
    if rule == ANYONE:
        return await handler(request)
    state = request.app[STATE]
    client = request.remote or "unknown"
    header = request.headers.get("Authorization", "")
    identity = access.identify(header, state.store, state.clock())
    csrf = None
    if identity is None and not header and SESSION_COOKIE in request.cookies:
        session = access.identify_session(request.cookies[SESSION_COOKIE], state.store,
                                          state.clock())
        if session is not None:
            identity, csrf = session
    if identity is None and access.limited(client):
        # a valid credential still passes, so a flood of bad ones from a shared address (all
        # of loopback) cannot lock Prometheus or an operator out
        access.denied.labels("rate limited").inc()
        reply = error_reply(429, f"too many failed credentials from {client}; wait a minute",
                            "Authorization")
        reply.headers["Retry-After"] = str(int(FAILURE_WINDOW_S))
        return reply
    if identity is None:
        access.failed(client)
        access.denied.labels("no valid credential").inc()
        _audit(state.store, "(unknown)", "auth.failed", request, "401",
               {"client": client, "presented": "bearer" if header.startswith("Bearer ")
                else ("other" if header else "none")})
        reply = error_reply(401, "a valid 'Authorization: Bearer <token>' is required",
                            "Authorization", None)
        reply.headers["WWW-Authenticate"] = 'Bearer realm="controlplane"'
        return reply
    if csrf is not None and request.method in MUTATING and not hmac.compare_digest(
            request.headers.get(CSRF_HEADER, "").encode(), csrf.encode()):
        access.denied.labels("csrf").inc()
        _audit(state.store, identity.name, "auth.csrf", request, "403", {"client": client})
        return error_reply(403, f"a request with the session cookie that changes something "
                                f"needs the session's CSRF token in {CSRF_HEADER}", CSRF_HEADER)
    if rule != AUTHENTICATED and not access.roles.allows(identity.role, rule):
        access.denied.labels("role").inc()
        _audit(state.store, identity.name, "auth.denied", request, "403",
               {"role": identity.role, "needs": rule})
        return error_reply(403, f"{identity.name} (role {identity.role}) lacks the permission "
                                f"{rule}", "permission", rule)
    request[IDENTITY] = identity
    response = await handler(request)
    if request.method in MUTATING and rule not in NOT_AUDITED:
        _audit(state.store, identity.name, f"{request.method} {_canonical(request)}", request,
               str(response.status), {"role": identity.role})
    return response


def _canonical(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def _audit(store: Store | None, actor: str, action: str, request: web.Request, outcome: str,
           detail: dict[str, object]) -> None:
    if store is None:
        return
    try:
        store.audit(actor, action, request.path[:200], outcome, detail)
    except (StoreError, OSError, sqlite3.Error) as err:   # the answer stands; logged
        log.error("could not audit %s %s: %s", action, request.path, err)
