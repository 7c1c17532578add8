"""`FaultProxyClient` against the real proxy process."""

from __future__ import annotations

import pytest

from controlplane.errors import InvalidInput, PlatformError, UnknownTarget
from controlplane.platform.local.faultproxy import FaultProxyClient, InvalidFault
from tests.platform.local.faultproxy.conftest import ECHO, HTTP
from tests.platform.local.faultproxy.harness import ProxyProcess
from tests.support.net import free_port

pytestmark = pytest.mark.cluster


def test_set_list_clear(proxy: ProxyProcess) -> None:
    client = proxy.client
    view = client.set_fault(ECHO, {"latency_ms": 50, "jitter_ms": 10, "ttl_s": 30})
    assert view["name"] == ECHO and view["fault"]["latency_ms"] == 50
    assert 29 < view["ttl_remaining_s"] <= 30
    links = {link["name"]: link for link in client.links()}
    assert links[ECHO]["fault"]["jitter_ms"] == 10 and links[HTTP]["fault"] is None
    replaced = client.set_fault(ECHO, {"blackhole": True, "ttl_s": 5})
    assert replaced["fault"]["latency_ms"] == 0 and replaced["fault"]["blackhole"] is True
    assert client.clear(ECHO) is True and client.clear(ECHO) is False
    client.set_fault(ECHO, {"latency_ms": 1, "ttl_s": 5})
    client.set_fault(HTTP, {"latency_ms": 1, "ttl_s": 5})
    assert sorted(client.clear_all()) == sorted([ECHO, HTTP])
    assert client.clear_all() == []


def test_unknown_link_raises_unknown_target(proxy: ProxyProcess) -> None:
    with pytest.raises(UnknownTarget) as caught:
        proxy.client.set_fault("gateway->nope-0", {"latency_ms": 1, "ttl_s": 5})
    assert caught.value.name == "gateway->nope-0" and ECHO in caught.value.valid
    assert isinstance(caught.value, PlatformError)
    with pytest.raises(UnknownTarget, match="valid links: "):
        proxy.client.clear("gateway->nope-0")


def test_bad_spec_raises_invalid_fault(proxy: ProxyProcess) -> None:
    with pytest.raises(InvalidFault) as caught:
        proxy.client.set_fault(ECHO, {"reset_probability": 2, "ttl_s": 5})
    error = caught.value
    assert isinstance(error, PlatformError) and isinstance(error, InvalidInput)
    assert error.field == "reset_probability" and error.value == 2 and error.exit_code == 2
    assert "reset_probability" in str(error) and "less than or equal to 1" in str(error)


def test_unreachable_proxy_raises_platform_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PlatformError, match=f"the fault proxy at {url} is unreachable"):
        FaultProxyClient(url, timeout=2).links()
