"""The service's OpenAPI 3.1 document, built from what the service itself uses: its route table
(every route the application serves), the access rule of each (`access.ROUTE_PERMISSIONS`,
shown as the bearer security and the permission), the request body models
(`bodies.BODIES`, the models the handlers read bodies with), the query parameters below, and
the one error shape every 4xx and 5xx has.

    GET /api/v1/openapi.json    (anyone: the API's description is no secret)

The success bodies of the routes in `replies.REPLIES` are described from the models their
handlers build them with; the others as JSON objects (or arrays) without their fields yet. The
error responses and the request bodies are described in full.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from controlplane.server.access import ANYONE, AUTHENTICATED, ROUTE_PERMISSIONS
from controlplane.server.bodies import BODIES
from controlplane.server.replies import REPLIES

__all__ = ["document", "routes"]

routes = web.RouteTableDef()
_LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000}
QUERY: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("GET", "/api/v1/traces"): {"limit": _LIMIT, "service": {"type": "string"}},
    ("GET", "/api/v1/telemetry/summary"): {"window": {"type": "number", "minimum": 1,
                                                      "maximum": 7 * 24 * 3600}},
    ("GET", "/api/v1/drills"): {"limit": _LIMIT, "kind": {"type": "string"}},
    ("GET", "/api/v1/chaos/runs"): {"limit": _LIMIT, "state": {"type": "string"}},
    ("GET", "/api/v1/runbooks/runs"): {"limit": _LIMIT},
    ("GET", "/api/v1/chaos/approvals"): {"limit": _LIMIT, "state": {"type": "string"}},
    ("GET", "/api/v1/alerts/history"): {"limit": _LIMIT},
    ("GET", "/api/v1/audit"): {"limit": {"type": "integer", "minimum": 1, "maximum": 10_000},
                               "since": {"type": "number", "minimum": 0, "maximum": 1e11}},
}
PATH: dict[str, dict[str, Any]] = {
    "trace_id": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
    "drill_id": {"type": "string", "pattern": "^[0-9]{1,18}$"},
    "run_id": {"type": "string", "minLength": 1, "maxLength": 100},
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "launch_id": {"type": "string", "minLength": 1, "maxLength": 100},
    "request_id": {"type": "string", "pattern": "^[0-9]{1,18}$"},
}
# bodies that are not JSON objects of our own: the alert intake (Prometheus's list or
# Alertmanager's webhook) and the OTLP receiver (protobuf or JSON)
RAW_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v2/alerts"): {"application/json": {"schema": {}}},
    ("POST", "/v1/traces"): {"application/x-protobuf": {"schema": {"type": "string",
                                                                   "format": "binary"}},
                             "application/json": {"schema": {"type": "object"}}},
}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["message"],
    "properties": {"field": {"type": "string"}, "value": {},
                   "message": {"type": "string"}}}}}
ERROR_CODES = ("400", "401", "403", "404", "405", "413", "415", "429", "503")
# the web UI's page and files (server/ui_api.py): "/" redirects to the page
PLAIN = {"/metrics": "text/plain", "/": "text/html", "/ui/": "text/html",
         "/ui/{name}": "text/plain"}
_DEFS: dict[str, Any] = {}          # the reply models' nested schemas, shared by reference


def document(app: web.Application) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        template = route.resource.canonical
        key = (route.method, template)
        paths.setdefault(template, {})[route.method.lower()] = _operation(key)
    return {
        "openapi": "3.1.0",
        "info": {"title": "controlplane", "version": "1",
                 "description": "The resilience control plane's service: records, chaos, "
                                "runbooks, the alert intake and the OTLP receiver."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "`controlplane tokens create`"}},
            "schemas": {"Error": ERROR, **_DEFS},
        },
    }


def _operation(key: tuple[str, str]) -> dict[str, Any]:
    method, template = key
    rule = ROUTE_PERMISSIONS.get(key, "(no rule: closed)")
    params = [{"name": name, "in": "path", "required": True, "schema": PATH[name]}
              for name in re.findall(r"\{(\w+)\}", template)]
    params += [{"name": name, "in": "query", "required": False, "schema": schema}
               for name, schema in QUERY.get(key, {}).items()]
    media = PLAIN.get(template, "application/json")
    ok_schema: dict[str, Any] = ({"type": "string"} if media != "application/json" else
                                 {"type": ["object", "array"]})
    operation: dict[str, Any] = {
        "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', template.lower())}"
                       .rstrip("_"),
        "description": f"Needs: {rule}.",
        "responses": {"200": {"description": "done",
                              "content": {media: {"schema": ok_schema}}},
                      **{code: {"description": "refused or failed, saying why",
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}}}}
                         for code in ERROR_CODES}},
    }
    if rule != ANYONE:
        operation["security"] = [{"bearer": []}]
    if rule not in (ANYONE, AUTHENTICATED):
        operation["x-permission"] = rule
    if params:
        operation["parameters"] = params
    if key in BODIES:
        operation["requestBody"] = {"required": False, "content": {"application/json": {
            "schema": BODIES[key].model_json_schema()}}}
    elif key in RAW_BODIES:
        operation["requestBody"] = {"required": True, "content": RAW_BODIES[key]}
    if method == "POST" and template in ("/api/v2/alerts", "/v1/traces"):
        operation["responses"]["200"]["content"][media]["schema"] = {}
    if key in REPLIES:
        status, model = REPLIES[key]
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        _DEFS.update(schema.pop("$defs", {}))
        del operation["responses"]["200"]
        operation["responses"][status] = {"description": "done", "content": {
            "application/json": {"schema": schema}}}
    return operation


@routes.get("/api/v1/openapi.json")
async def get_document(request: web.Request) -> web.Response:
    return web.json_response(document(request.app))
