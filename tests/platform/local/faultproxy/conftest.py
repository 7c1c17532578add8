"""Fixtures: real upstream servers, and one real proxy process in front of them per module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.platform.local.faultproxy.harness import ProxyProcess, running_proxy
from tests.platform.local.faultproxy.servers import digest_after_eof, echo, http_server, tcp_server
from tests.support.net import wait_for
from tests.support.pg import pg_server  # noqa: F401 - the throwaway PostgreSQL fixture

ECHO, DIGEST, HTTP = "client->echo-0", "client->digest-0", "gateway->http-0"


@dataclass
class Upstreams:
    echo: int
    digest: int
    http: int


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    with tcp_server(echo) as echo_port, tcp_server(digest_after_eof) as digest_port, \
            http_server() as http_port:
        yield Upstreams(echo_port, digest_port, http_port)


@pytest.fixture(scope="module")
def shared_proxy(tmp_path_factory: pytest.TempPathFactory,
                 upstreams: Upstreams) -> Iterator[ProxyProcess]:
    links = {ECHO: upstreams.echo, DIGEST: upstreams.digest, HTTP: upstreams.http}
    with running_proxy(tmp_path_factory.mktemp("faultproxy"), links) as proxy:
        yield proxy


@pytest.fixture()
def proxy(shared_proxy: ProxyProcess) -> Iterator[ProxyProcess]:
    """The module's proxy with no fault, and no connection left open by an earlier test."""
    shared_proxy.client.clear_all()
    wait_for("earlier connections to close", lambda: all(
        link["open_connections"] == 0 for link in shared_proxy.client.links()), timeout=10)
    yield shared_proxy
    shared_proxy.client.clear_all()
