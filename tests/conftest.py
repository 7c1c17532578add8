"""Suite-wide guard: when the session ends, nothing any test started may still be running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.host.procs import find_owned, kill_tree


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every process a test starts runs in a directory under pytest's base temp; after the
    session none may remain. (A cluster's PostgreSQL data may live under /var/tmp when the base
    temp is private; the cluster fixture checks that directory itself, so that a cluster a user
    runs beside the tests is never touched here.)"""
    yield
    left = find_owned([tmp_path_factory.getbasetemp()])
    if left:
        kill_tree([p.pid for p in left])   # clean up, but still fail the run
    assert left == [], "processes left running after the test session:\n" + "\n".join(
        f"  {p.pid} {p.cmdline[:120]}" for p in left)
