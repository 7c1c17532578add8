"""Links added and removed while the proxy runs (a matcher scaled out or in): the new link
carries traffic and takes faults, the same link again is a no-op, a clash is a 409, a bad
body a 400 naming the field, and a removed link stops listening."""

from __future__ import annotations

import pytest

from tests.platform.local.faultproxy.conftest import Upstreams
from tests.platform.local.faultproxy.harness import ProxyProcess, connect, round_trip
from tests.support.http import call
from tests.support.net import free_port

pytestmark = pytest.mark.cluster

NEW = "gateway-0->matcher-2"


def _url(proxy: ProxyProcess, name: str, suffix: str = "") -> str:
    return proxy.admin_url + "/v1/links/" + name.replace(">", "%3E") + suffix


def test_a_link_added_at_run_time_carries_traffic_then_goes(proxy: ProxyProcess,
                                                            upstreams: Upstreams) -> None:
    port = free_port()
    body = {"listen": f"127.0.0.1:{port}", "upstream": f"127.0.0.1:{upstreams.echo}"}
    status, view = call("PUT", _url(proxy, NEW), body)
    assert status == 201 and view["name"] == NEW
    assert call("PUT", _url(proxy, NEW), body)[0] == 200          # the same again: no-op
    with connect(port) as sock:
        round_trip(sock)
    status, _ = call("PUT", _url(proxy, NEW, "/fault"), {"latency_ms": 50, "ttl_s": 5})
    assert status == 200
    with connect(port) as sock:
        assert round_trip(sock) >= 0.045
    status, clash = call("PUT", _url(proxy, NEW), {**body, "upstream": "127.0.0.1:1"})
    assert status == 409 and "already exists" in clash["error"]["message"]
    assert call("DELETE", _url(proxy, NEW)) == (200, {"link": NEW, "removed": True})
    assert call("DELETE", _url(proxy, NEW)) == (200, {"link": NEW, "removed": False})
    with pytest.raises(OSError):
        connect(port, timeout=0.5)


@pytest.mark.parametrize(("body", "field"), [
    ({"listen": "nowhere", "upstream": "127.0.0.1:1"}, "links.0.listen"),
    ({"listen": "127.0.0.1:0"}, "links.0.upstream"),
    ({"listen": "127.0.0.1:0", "upstream": "127.0.0.1:1", "extra": 1}, "links.0.extra"),
])
def test_a_bad_link_is_a_400_naming_the_field(proxy: ProxyProcess, body: dict,
                                              field: str) -> None:
    status, reply = call("PUT", _url(proxy, NEW), body)
    assert status == 400 and reply["error"]["field"] == field
