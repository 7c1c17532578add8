"""The proxy's admin API and process lifecycle: 404 and 400 bodies that say what is wrong,
bad configuration (exit 2), a taken port (exit 1), SIGTERM (exit 0)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.platform.local.faultproxy.conftest import ECHO, HTTP, Upstreams
from tests.platform.local.faultproxy.harness import (
    ProxyProcess,
    connect,
    proxy_argv,
    proxy_env,
    round_trip,
    running_proxy,
)
from tests.support.http import call
from tests.support.net import free_port

pytestmark = pytest.mark.cluster


def test_links_list_every_link(proxy: ProxyProcess, upstreams: Upstreams) -> None:
    status, body = call("GET", proxy.admin_url + "/v1/links")
    assert status == 200
    links = {link["name"]: link for link in body["links"]}
    assert set(links) == {ECHO, HTTP, "client->digest-0"}
    assert links[ECHO]["upstream"] == f"127.0.0.1:{upstreams.echo}"
    assert links[ECHO]["listen"] == f"127.0.0.1:{proxy.ports[ECHO]}"
    assert links[ECHO]["fault"] is None and links[ECHO]["ttl_remaining_s"] is None
    assert call("GET", proxy.admin_url + "/healthz") == (200, {"status": "ok"})


def test_unknown_link_is_404_listing_valid_links(proxy: ProxyProcess) -> None:
    for method, path, body in [("PUT", "/v1/links/gw->nope/fault", {"ttl_s": 5}),
                               ("DELETE", "/v1/links/gw->nope/fault", None),
                               ("GET", "/v1/links/gw->nope", None)]:
        status, reply = call(method, proxy.admin_url + path.replace(">", "%3E"),
                             *([body] if body else []))
        assert status == 404
        assert reply["error"]["valid"] == sorted(proxy.ports)
        assert "gw->nope" in reply["error"]["message"] and ECHO in reply["error"]["message"]


@pytest.mark.parametrize("spec, field", [
    ({"latency_ms": -1, "ttl_s": 5}, "latency_ms"),
    ({"jitter_ms": -5, "ttl_s": 5}, "jitter_ms"),
    ({"bandwidth_kbps": 0, "ttl_s": 5}, "bandwidth_kbps"),
    ({"reset_probability": 1.5, "ttl_s": 5}, "reset_probability"),
    ({"reset_probability": -0.1, "ttl_s": 5}, "reset_probability"),
    ({"latency": 100, "ttl_s": 5}, "latency"),
    ({"latency_ms": 100}, "ttl_s"),
    ({"latency_ms": 100, "ttl_s": 0}, "ttl_s"),
    ({"latency_ms": 100, "ttl_s": 3601}, "ttl_s"),
    ({"latency_ms": "100", "ttl_s": 5}, "latency_ms"),
    ({"reset": "yes", "ttl_s": 5}, "reset"),
    ({"direction": "sideways", "ttl_s": 5}, "direction"),
    ({"reset": True, "blackhole": True, "ttl_s": 5}, "blackhole"),
    ([1, 2], "(body)"),
])
def test_bad_specs_are_400_naming_the_field(proxy: ProxyProcess, spec: Any, field: str) -> None:
    status, reply = call("PUT", f"{proxy.admin_url}/v1/links/{ECHO}/fault", spec)
    assert status == 400
    assert reply["error"]["field"] == field and field in reply["error"]["message"]
    assert proxy.client.link(ECHO)["fault"] is None


def test_a_body_that_is_not_json_is_400(proxy: ProxyProcess) -> None:
    status, reply = call("PUT", f"{proxy.admin_url}/v1/links/{ECHO}/fault", raw=b"{nope")
    assert status == 400 and reply["error"]["field"] == "(body)"


def test_clearing_is_idempotent(proxy: ProxyProcess) -> None:
    url = f"{proxy.admin_url}/v1/links/{ECHO}/fault"
    assert call("PUT", url, {"latency_ms": 10, "ttl_s": 30})[0] == 200
    assert call("DELETE", url) == (200, {"link": ECHO, "cleared": True})
    assert call("DELETE", url) == (200, {"link": ECHO, "cleared": False})
    call("PUT", url, {"latency_ms": 10, "ttl_s": 30})
    assert call("DELETE", proxy.admin_url + "/v1/faults") == (200, {"cleared": [ECHO]})


def test_sigterm_closes_connections_and_exits_0(tmp_path: Path, upstreams: Upstreams) -> None:
    with running_proxy(tmp_path, {ECHO: upstreams.echo}, name="terminated") as proxy:
        with connect(proxy.ports[ECHO]) as sock:
            round_trip(sock)
            assert proxy.procs.stop(proxy.name, signal.SIGTERM, timeout=10) == 0
            assert sock.recv(100) == b""   # closed by the proxy
        assert "stopped" in proxy.procs.get(proxy.name).output()


def _run(tmp_path: Path, config: Any) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "proxy.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    return subprocess.run(proxy_argv(path), env=proxy_env(), cwd=tmp_path, capture_output=True,
                          text=True, timeout=30, check=False)


def _link(**changes: str) -> dict[str, str]:
    return {"name": "a->b", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"} | changes


@pytest.mark.parametrize("config, field", [
    ({"links": [_link()]}, "admin"),
    ({"admin": {"port": 1}, "links": []}, "links"),
    ({"admin": {"port": 1}, "links": [_link(name="a-b")]}, "links.0.name"),
    ({"admin": {"port": 1}, "links": [_link(upstream="nowhere")]}, "links.0.upstream"),
    ({"admin": {"port": 1}, "links": [_link(listen="127.0.0.1:99999")]}, "links.0.listen"),
    ({"admin": {"port": 1}, "links": [_link(), _link()]}, "links.1.name"),
    ({"admin": {"port": 1, "colour": "red"}, "links": [_link()]}, "admin.colour"),
])
def test_bad_config_exits_2_naming_file_and_field(tmp_path: Path, config: Any,
                                                  field: str) -> None:
    result = _run(tmp_path, config)
    assert result.returncode == 2, result.stderr
    assert f"{tmp_path / 'proxy.json'}: {field}: " in result.stderr


def test_unreadable_config_exits_2(tmp_path: Path) -> None:
    result = _run(tmp_path, "{nope")
    assert result.returncode == 2 and "not valid JSON" in result.stderr


def test_a_taken_port_exits_1_naming_the_link(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run(tmp_path, {"admin": {"port": free_port()},
                                 "links": [_link(listen=f"127.0.0.1:{port}")]})
    assert result.returncode == 1 and "link a->b: cannot listen on" in result.stderr


def test_with_a_token_the_admin_api_refuses_a_caller_without_it(
        tmp_path: Path, upstreams: Upstreams) -> None:
    """The cluster's proxy carries the admin token (issue 10): a fault set by anyone who
    reaches the port is refused with 401 and leaves the link as it was."""
    token = "t" * 24
    with running_proxy(tmp_path, {ECHO: upstreams.echo}, token=token) as proxy:
        url = proxy.admin_url + f"/v1/links/{ECHO}/fault"
        for given in (None, "wrong-token-wrong-token"):
            status, body = call("PUT", url, {"latency_ms": 500, "ttl_s": 30}, token=given)
            assert status == 401 and "admin token" in body["error"]["message"], body
        assert call("GET", proxy.admin_url + "/v1/links")[0] == 401
        assert call("GET", proxy.admin_url + "/healthz")[0] == 200
        assert proxy.client.link(ECHO)["fault"] is None           # nothing changed
        assert call("PUT", url, {"latency_ms": 500, "ttl_s": 30}, token=token)[0] == 200
        assert proxy.client.link(ECHO)["fault"] is not None
