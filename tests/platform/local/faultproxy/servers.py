"""Small real upstream servers for the proxy tests, each on a port the kernel chose.

- `tcp_server(handle)`: a threaded TCP server calling `handle(sock)` per connection
- `echo`: sends back whatever it receives, until EOF
- `digest_after_eof`: reads until EOF (a half-close), then answers "<length> <sha256>"
- `http_server()`: HTTP/1.1 with keep-alive: GET /bytes/<n>, POST /echo, GET /hello
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["digest_after_eof", "echo", "http_server", "pattern", "tcp_server"]

Handle = Callable[[socket.socket], None]


def pattern(size: int) -> bytes:
    """`size` bytes that are not all alike, so that a shuffled transfer shows."""
    return bytes(i * 7 % 251 for i in range(size))


def echo(sock: socket.socket) -> None:
    while data := sock.recv(65536):
        sock.sendall(data)


def digest_after_eof(sock: socket.socket) -> None:
    received = b""
    while data := sock.recv(65536):
        received += data
    sock.sendall(f"{len(received)} {hashlib.sha256(received).hexdigest()}".encode())


class _Threaded(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False


@contextlib.contextmanager
def _serving(server: socketserver.BaseServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def tcp_server(handle: Handle) -> Iterator[int]:
    """Serve `handle` on 127.0.0.1:<port>; yields the port."""
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with contextlib.suppress(OSError):
                handle(self.request)

    with _serving(_Threaded(("127.0.0.1", 0), Handler)) as port:
        yield port


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.startswith("/bytes/"):
            return self._reply(pattern(int(self.path.removeprefix("/bytes/"))))
        self._reply(b"hello" if self.path == "/hello" else b"not found",
                    200 if self.path == "/hello" else 404)

    def do_POST(self) -> None:
        self._reply(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _reply(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@contextlib.contextmanager
def http_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HttpHandler)
    server.daemon_threads = True
    with _serving(server) as port:
        yield port
