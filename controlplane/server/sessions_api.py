"""Browser sessions, for the web UI (issue 10 item 2).

    POST   /api/v1/sessions  {"token": "cp_...", "totp": "123456"}   anyone; the token is checked
    DELETE /api/v1/sessions                                         the session's own user

A login with a valid API token (and the user's TOTP code when they have a second factor)
answers with the user, the session's CSRF token and its expiry, and sets the `cp_session`
cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure
over HTTPS. With the cookie, a request that changes something must also carry the CSRF token
in `X-CSRF-Token` (server/access.py), so a page from elsewhere cannot act for the user. A
failed login is a 401, audited and counted against the client's rate limit like any refused
credential.
"""

from __future__ import annotations

from aiohttp import web

from controlplane.application import access as usecase
from controlplane.errors import InvalidInput
from controlplane.server.access import ACCESS, IDENTITY, SESSION_COOKIE
from controlplane.server.bodies import EmptyBody, SessionBody, read_body
from controlplane.server.errors import error_reply
from controlplane.server.replies import LoginReply
from controlplane.server.state import STATE

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/api/v1/sessions")
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, SessionBody)
    state, guard = request.app[STATE], request.app[ACCESS]
    client = request.remote or "unknown"
    if state.store is None:
        return error_reply(503, "the control plane runs without a state directory: it has no "
                                "users (start it with --state-dir)")
    if guard.limited(client):
        guard.denied.labels("rate limited").inc()
        return error_reply(429, f"too many failed credentials from {client}; wait a minute",
                           "token")
    try:
        session_id, session, user = usecase.login(state.store, body.token, body.totp)
    except InvalidInput as err:
        guard.failed(client)
        guard.denied.labels("no valid credential").inc()
        state.store.audit("(unknown)", "auth.failed", request.path, "401",
                          {"client": client, "presented": "login", "field": err.field})
        return error_reply(401, str(err), err.field, None)
    reply = web.json_response(LoginReply(user=user.name, role=user.role,
                                         csrf_token=session.csrf,
                                         expires_at=session.expires_at).model_dump())
    reply.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="Strict",
                     secure=request.secure, path="/",
                     max_age=int(session.expires_at - session.created_at))
    return reply


@routes.delete("/api/v1/sessions")
async def logout(request: web.Request) -> web.Response:
    await read_body(request, EmptyBody)
    cookie = request.cookies.get(SESSION_COOKIE)
    store = request.app[STATE].store
    if cookie and store is not None:
        usecase.logout(store, cookie, request[IDENTITY].name)
    reply = web.json_response({"ended": bool(cookie)})
    reply.del_cookie(SESSION_COOKIE, path="/")
    return reply
