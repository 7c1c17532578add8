"""The fault proxy as a real process for tests, and what the tests measure through it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from controlplane.platform.local.faultproxy.client import FaultProxyClient
from tests.support.net import free_port, wait_for
from tests.support.procs import Processes

__all__ = ["REPO", "ProxyProcess", "connect", "metric", "proxy_argv", "proxy_env",
           "recv_exactly", "round_trip", "running_proxy"]

REPO = Path(__file__).resolve().parents[2]


def proxy_argv(config: Path) -> list[str]:
    return [sys.executable, "-m", "controlplane.platform.local.faultproxy", "--config",
            str(config)]


def proxy_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@dataclass
class ProxyProcess:
    procs: Processes
    name: str
    admin_url: str
    ports: dict[str, int]
    token: str | None = None

    @property
    def client(self) -> FaultProxyClient:
        return FaultProxyClient(self.admin_url, token=self.token)

    def metrics(self) -> str:
        with urllib.request.urlopen(self.admin_url + "/metrics", timeout=5) as response:
            return response.read().decode()


@contextlib.contextmanager
def running_proxy(workdir: Path, upstreams: dict[str, int], name: str = "faultproxy",
                  token: str | None = None) -> Iterator[ProxyProcess]:
    """A proxy process with one link per `upstreams` entry (link name -> upstream port);
    each link listens on a port the kernel chooses; with `token`, its admin API asks for it.
    Always stopped on exit."""
    admin = free_port()
    config = {"admin": {"host": "127.0.0.1", "port": admin,
                        **({"token": token} if token else {})},
              "links": [{"name": link, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{port}"}
                        for link, port in upstreams.items()]}
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(config))
    procs = Processes(workdir)
    try:
        proc = procs.start(name, proxy_argv(path), env=proxy_env(), cwd=workdir)
        proxy = ProxyProcess(procs, name, f"http://127.0.0.1:{admin}", {}, token)
        links = wait_for("the fault proxy", lambda: _links(proxy, proc.alive()), timeout=20)
        proxy.ports = {link["name"]: int(link["listen"].rsplit(":", 1)[1]) for link in links}
        yield proxy
    finally:
        procs.close()


def _links(proxy: ProxyProcess, alive: bool) -> list[dict[str, Any]]:
    if not alive:
        raise RuntimeError("the fault proxy exited:\n" + proxy.procs.get(proxy.name).output())
    return proxy.client.links()


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"EOF after {len(data)} of {size} bytes")
        data += chunk
    return data


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    """Seconds to send `payload` to an echo server and get it back."""
    started = time.perf_counter()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.perf_counter() - started


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text exposition, or None."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None
