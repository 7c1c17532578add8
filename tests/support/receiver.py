"""A local HTTP receiver that records every JSON body posted to it, on a free loopback port:
the webhook an Alertmanager receiver (or a test playing Alertmanager's API) talks to."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Receiver", "receiver"]


@dataclass
class Receiver:
    url: str
    status: int = 200                     # what it answers; set 400 to play a refusal
    posts: list[tuple[str, Any]] = field(default_factory=list)    # (path, body)


@contextlib.contextmanager
def receiver() -> Iterator[Receiver]:
    """Started on enter, shut down (thread joined, port closed) on exit."""
    rec = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            rec.posts.append((self.path, json.loads(body or b"null")))
            self.send_response(rec.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="test-receiver", daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
