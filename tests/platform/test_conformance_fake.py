"""The platform conformance suite (tests/platform/conformance.py) on the fake platform: no
process, no port; the fake is reached as any caller reaches a platform, through
`load_platform` with a topology that names it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controlplane.platform import Platform, load_platform
from tests.platform.conformance import PlatformConformance, conformance_topology, tiny_topology


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    topology = conformance_topology("fake")
    fake = load_platform(topology, tmp_path_factory.mktemp("fake-conformance"))
    fake.up(topology)
    yield fake
    fake.down(purge=True)


@pytest.fixture()
def new_platform(tmp_path: Path) -> Iterator[Callable[[], Platform]]:
    made: list[Platform] = []

    def make() -> Platform:
        made.append(load_platform(tiny_topology("fake"), tmp_path / f"ws{len(made)}"))
        return made[-1]
    yield make
    for platform in made:
        platform.down(purge=True)


class TestFakeConformance(PlatformConformance):
    UNSUPPORTED = frozenset({"scaling the ledger", "a ledger DSN",
                             "a ledger node's DSN"})
