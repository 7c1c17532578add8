"""Resets, blackholes and self-reverting faults on the real proxy process."""

from __future__ import annotations

import http.client
import time

import pytest

from tests.platform.local.faultproxy.conftest import ECHO, HTTP
from tests.platform.local.faultproxy.harness import ProxyProcess, connect, metric, round_trip
from tests.support.net import wait_for

pytestmark = pytest.mark.cluster


def _resets(proxy: ProxyProcess) -> float:
    return metric(proxy.metrics(), "faultproxy_resets_total", link=ECHO) or 0.0


def test_reset_resets_open_and_new_connections(proxy: ProxyProcess) -> None:
    before = _resets(proxy)
    with connect(proxy.ports[ECHO]) as open_sock:
        round_trip(open_sock)
        proxy.client.set_fault(ECHO, {"reset": True, "ttl_s": 60})
        with pytest.raises(ConnectionResetError):
            open_sock.recv(100)
    with pytest.raises(ConnectionResetError), connect(proxy.ports[ECHO]) as new_sock:
        new_sock.sendall(b"ping")
        new_sock.recv(100)
    assert _resets(proxy) == before + 2
    proxy.client.clear(ECHO)
    with connect(proxy.ports[ECHO]) as sock:
        assert round_trip(sock) < 0.5


def test_reset_probability_resets_some_new_connections(proxy: ProxyProcess) -> None:
    proxy.client.set_fault(ECHO, {"reset_probability": 0.5, "ttl_s": 60})
    outcomes = []
    for _ in range(60):
        try:
            with connect(proxy.ports[ECHO]) as sock:   # the RST may even beat connect()
                round_trip(sock)
            outcomes.append("ok")
        except ConnectionResetError:
            outcomes.append("reset")
    assert 10 <= outcomes.count("reset") <= 50, outcomes


def test_blackhole_hangs_without_refusing(proxy: ProxyProcess) -> None:
    proxy.client.set_fault(HTTP, {"blackhole": True, "ttl_s": 60})
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[HTTP], timeout=1.0)
    try:
        conn.connect()   # the TCP connect succeeds
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            conn.request("GET", "/hello")
            conn.getresponse()
        assert time.perf_counter() - started >= 0.9
    finally:
        conn.close()
    assert proxy.client.link(HTTP)["fault"]["blackhole"] is True
    proxy.client.clear(HTTP)
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[HTTP], timeout=5)
    try:
        conn.request("GET", "/hello")
        assert conn.getresponse().read() == b"hello"
    finally:
        conn.close()


def test_blackhole_drops_bytes_rather_than_holding_them(proxy: ProxyProcess) -> None:
    with connect(proxy.ports[ECHO], timeout=0.5) as sock:
        proxy.client.set_fault(ECHO, {"blackhole": True, "ttl_s": 60})
        sock.sendall(b"lost")
        with pytest.raises(TimeoutError):
            sock.recv(100)
        proxy.client.clear(ECHO)
        sock.settimeout(5)
        assert round_trip(sock, b"kept") < 0.5   # "lost" never arrives


def test_a_fault_reverts_itself_after_its_ttl(proxy: ProxyProcess) -> None:
    view = proxy.client.set_fault(ECHO, {"latency_ms": 300, "ttl_s": 1})
    assert view["fault"]["latency_ms"] == 300 and 0 < view["ttl_remaining_s"] <= 1
    with connect(proxy.ports[ECHO]) as sock:
        assert round_trip(sock) >= 0.29
        text = proxy.metrics()
        assert metric(text, "faultproxy_fault_active", link=ECHO, kind="latency") == 1
        # the proxy's timer clears it (reading the metrics does not read the fault): wait for
        # it with room for a loaded machine, where the timer may fire late
        wait_for("the ttl to clear the fault", lambda: metric(
            proxy.metrics(), "faultproxy_fault_active", link=ECHO, kind="latency") == 0,
            timeout=15)
        assert round_trip(sock) < 0.29           # the 300 ms are gone (the rest is room)
    view = proxy.client.link(ECHO)
    assert view["fault"] is None and view["ttl_remaining_s"] is None


def test_a_blackhole_reverts_itself_after_its_ttl(proxy: ProxyProcess) -> None:
    proxy.client.set_fault(HTTP, {"blackhole": True, "ttl_s": 1})
    time.sleep(1.2)
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[HTTP], timeout=5)
    try:
        conn.request("GET", "/hello")
        assert conn.getresponse().read() == b"hello"
    finally:
        conn.close()
