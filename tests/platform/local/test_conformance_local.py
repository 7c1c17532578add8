"""The platform conformance suite (tests/platform/conformance.py) on the local platform: a small
cluster of real processes (etcd, Patroni and PostgreSQL, HAProxy, the fault proxy, the testbed
services), started once for the module; no process may be left behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from controlplane.host.procs import find_owned
from controlplane.platform import Platform, open_platform
from tests.platform.conformance import PlatformConformance, conformance_topology
from tests.support.cluster import running_cluster
from tests.support.local import process_roots

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_cluster(tmp_path_factory, conformance_topology("local"),
                         "conformance") as local:
        yield local


@pytest.fixture()
def new_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Platform]]:
    made: list[Platform] = []

    def make() -> Platform:
        made.append(open_platform(tmp_path_factory.mktemp("conformance-tiny") / "state"))
        return made[-1]
    yield make
    for local in made:
        roots = process_roots(local)
        local.down(purge=True)
        assert find_owned(roots) == [], "processes left behind"


class TestLocalConformance(PlatformConformance):
    UNSUPPORTED = frozenset({"scaling the ledger"})
    SETTLE_S = 2.0         # the supervisor restarts a crashed instance after 1 s at the least
