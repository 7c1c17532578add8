"""Traffic through the real proxy process: unchanged without a fault (HTTP keep-alive, half-
close, large transfers), then delayed, jittered and paced as the fault says."""

from __future__ import annotations

import http.client
import socket
import statistics
import time

import pytest

from tests.platform.local.faultproxy.conftest import DIGEST, ECHO, HTTP, Upstreams
from tests.platform.local.faultproxy.harness import (
    ProxyProcess,
    connect,
    metric,
    recv_exactly,
    round_trip,
)
from tests.platform.local.faultproxy.servers import pattern

pytestmark = pytest.mark.cluster


def test_http_keep_alive_passes_unchanged(proxy: ProxyProcess) -> None:
    before = proxy.client.link(HTTP)["connections_total"]
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[HTTP], timeout=10)
    try:
        for size in (0, 1, 1000, 300_000):
            conn.request("GET", f"/bytes/{size}")
            assert conn.getresponse().read() == pattern(size)
        body = pattern(200_000)
        conn.request("POST", "/echo", body=body)
        assert conn.getresponse().read() == body
    finally:
        conn.close()
    assert proxy.client.link(HTTP)["connections_total"] == before + 1   # one connection


def test_half_close_is_passed_on(proxy: ProxyProcess) -> None:
    """The server answers only after it sees our EOF; the answer still comes back."""
    sock = connect(proxy.ports[DIGEST])
    with sock:
        sock.sendall(pattern(150_000))
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"150000 ")


def test_forwarding_adds_little_latency(proxy: ProxyProcess, upstreams: Upstreams) -> None:
    def median_rt(port: int) -> float:
        with connect(port) as sock:
            return statistics.median(round_trip(sock, b"x" * 100) for _ in range(300))

    direct, proxied = median_rt(upstreams.echo), median_rt(proxy.ports[ECHO])
    assert proxied - direct < 0.001, f"direct {direct * 1e3:.3f} ms, proxied {proxied * 1e3:.3f}"


def test_latency_applies_to_open_connections_and_clears(proxy: ProxyProcess) -> None:
    with connect(proxy.ports[ECHO]) as sock:
        assert round_trip(sock) < 0.1
        proxy.client.set_fault(ECHO, {"latency_ms": 200, "ttl_s": 60})
        assert all(round_trip(sock) >= 0.195 for _ in range(3))
        assert proxy.client.clear(ECHO) is True
        round_trip(sock)   # a chunk sent just before the clear may still be held
        assert round_trip(sock) < 0.1


@pytest.mark.parametrize("direction", ["upstream", "downstream"])
def test_latency_on_one_direction(proxy: ProxyProcess, direction: str) -> None:
    proxy.client.set_fault(ECHO, {"latency_ms": 200, "direction": direction, "ttl_s": 60})
    with connect(proxy.ports[ECHO]) as sock:
        assert 0.195 <= round_trip(sock) < 1.0


def test_latency_does_not_serialize_a_stream(proxy: ProxyProcess) -> None:
    """Each chunk is delayed from its own arrival: 50 chunks under 200 ms take ~200 ms."""
    proxy.client.set_fault(ECHO, {"latency_ms": 200, "direction": "upstream", "ttl_s": 60})
    with connect(proxy.ports[ECHO]) as sock:
        started = time.perf_counter()
        for i in range(50):
            sock.sendall(b"%04d" % i)
            time.sleep(0.002)
        received = recv_exactly(sock, 200)
        elapsed = time.perf_counter() - started
    assert received == b"".join(b"%04d" % i for i in range(50))
    assert 0.2 <= elapsed < 1.5


def test_jitter_never_reorders_bytes(proxy: ProxyProcess) -> None:
    proxy.client.set_fault(ECHO, {"latency_ms": 20, "jitter_ms": 20, "ttl_s": 60})
    lines = [b"%06d\n" % i for i in range(400)]
    with connect(proxy.ports[ECHO]) as sock:
        for line in lines:
            sock.sendall(line)
            time.sleep(0.0005)
        received = recv_exactly(sock, sum(map(len, lines)))
    assert received == b"".join(lines)


def test_bandwidth_bounds_a_transfer(proxy: ProxyProcess) -> None:
    """100 kB at 100 kbit/s is 8 s; clearing the cap makes it fast again."""
    proxy.client.set_fault(HTTP, {"bandwidth_kbps": 100, "ttl_s": 120})
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[HTTP], timeout=60)
    try:
        started = time.perf_counter()
        conn.request("GET", "/bytes/100000")
        assert conn.getresponse().read() == pattern(100_000)
        elapsed = time.perf_counter() - started
        assert 8 * 0.85 <= elapsed < 30, elapsed
        proxy.client.clear(HTTP)
        started = time.perf_counter()
        conn.request("GET", "/bytes/100000")
        assert conn.getresponse().read() == pattern(100_000)
        assert time.perf_counter() - started < 1.0
    finally:
        conn.close()


def test_metrics_count_bytes_and_connections(proxy: ProxyProcess) -> None:
    def sample(name: str, **labels: str) -> float:
        return metric(proxy.metrics(), name, link=ECHO, **labels) or 0.0

    up, down = sample("faultproxy_bytes_total", direction="upstream"), \
        sample("faultproxy_bytes_total", direction="downstream")
    accepted = sample("faultproxy_connections_total")
    with connect(proxy.ports[ECHO]) as sock:
        round_trip(sock, b"y" * 1234)
        assert sample("faultproxy_open_connections") == 1
    assert sample("faultproxy_connections_total") == accepted + 1
    assert sample("faultproxy_bytes_total", direction="upstream") == up + 1234
    assert sample("faultproxy_bytes_total", direction="downstream") == down + 1234
    deadline = time.monotonic() + 5
    while sample("faultproxy_open_connections") != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sample("faultproxy_open_connections") == 0
    view = proxy.client.link(ECHO)
    assert view["bytes"]["upstream"] >= 1234 and view["open_connections"] == 0
