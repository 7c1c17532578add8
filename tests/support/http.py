"""A tiny synchronous JSON HTTP client for tests (stdlib only), and `send_body`, how the
tests' own HTTP servers answer."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any

__all__ = ["NO_BODY", "call", "send_body"]

NO_BODY = object()


def call(method: str, url: str, body: Any = NO_BODY, *, raw: bytes | None = None,
         timeout: float = 15.0, token: str | None = None) -> tuple[int, Any]:
    """(status, parsed JSON or text). `raw` sends bytes as they are; `token` goes as
    `Authorization: Bearer`."""
    data = raw if raw is not None else None if body is NO_BODY else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _parse(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _parse(exc.read())


def _parse(payload: bytes) -> Any:
    text = payload.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def send_body(handler: BaseHTTPRequestHandler, status: int, body: bytes,
              content_type: str = "application/json") -> None:
    """Answer the request `handler` holds with `status` and `body`."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
