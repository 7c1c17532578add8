"""The web UI: a page, a script and a style sheet shipped inside the package
(server/ui/static), served as they are: no CDN, no build step, so it works offline. The page
holds no data; its script signs in (`POST /api/v1/sessions`) and reads the JSON API with the
session cookie, sending the CSRF token on every change.

    GET /          redirects to /ui/
    GET /ui/       the page
    GET /ui/{name} one of ASSETS; anything else is a 404 (no path reaches another file)
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from controlplane.server.errors import not_found

__all__ = ["ASSETS", "STATIC", "routes"]

routes = web.RouteTableDef()
STATIC = Path(__file__).parent / "ui" / "static"
ASSETS = {"app.js": "text/javascript", "app.css": "text/css", "index.html": "text/html"}
# the page runs only its own script and style and talks only to this service
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@routes.get("/")
async def root(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": "/ui/"})


@routes.get("/ui/")
async def page(request: web.Request) -> web.Response:
    return _asset("index.html")


@routes.get("/ui/{name}")
async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        return not_found("web UI file", "name", name)
    return _asset(name)


def _asset(name: str) -> web.Response:
    return web.Response(body=(STATIC / name).read_bytes(), content_type=ASSETS[name],
                        charset="utf-8",
                        headers={"Content-Security-Policy": POLICY,
                                 "X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-cache"})
