"""Prometheus's query API answered by a local HTTP server: real HTTP and Prometheus's JSON,
made-up answers. An instant query (`POST /api/v1/query`, as `PrometheusClient` sends it) of an
expression in `values` returns one sample of that value; any other expression returns an empty
vector, which is what a comparison that does not hold returns. A range query
(`/api/v1/query_range`) of an expression in `ranges` returns one series of those points; any
other, an empty matrix. Every query is remembered.

    with fake_prometheus() as prom:
        prom.values[expr] = 1.0
        ... RunbookEngine(platform, store, prometheus_url=prom.url) ...
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.http import send_body

__all__ = ["FakePrometheus", "fake_prometheus"]


class FakePrometheus:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.ranges: dict[str, list[tuple[float, float]]] = {}
        self.queries: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, expr: str) -> dict[str, Any]:
        self.queries.append(expr)
        result = [{"metric": {}, "value": [0, str(self.values[expr])]}] \
            if expr in self.values else []
        return {"status": "success", "data": {"resultType": "vector", "result": result}}

    def answer_range(self, expr: str) -> dict[str, Any]:
        self.queries.append(expr)
        points = [[t, str(v)] for t, v in self.ranges.get(expr, [])]
        result = [{"metric": {}, "values": points}] if points else []
        return {"status": "success", "data": {"resultType": "matrix", "result": result}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        prometheus = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                if self.path not in ("/api/v1/query", "/api/v1/query_range") \
                        or "query" not in form:
                    self.send_error(404)
                    return
                answer = prometheus.answer if self.path == "/api/v1/query" \
                    else prometheus.answer_range
                send_body(self, 200, json.dumps(answer(form["query"][0])).encode())

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def fake_prometheus() -> Iterator[FakePrometheus]:
    prometheus = FakePrometheus()
    thread = threading.Thread(target=prometheus.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield prometheus
    finally:
        prometheus.server.shutdown()
        prometheus.server.server_close()
