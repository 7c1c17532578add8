"""ledger-connection-exhaustion without a cluster: the helper that fills the server and the
verification that says it is full, against a fake server at asyncpg's seam (`connect`).

On a loaded machine a connection attempt can time out while the server still has free slots;
that must neither end the filling nor pass for the server's refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import pytest

from controlplane.chaos.faults import ledger
from controlplane.chaos.helpers import pgload


class FakeServer:
    """A PostgreSQL with `slots` client slots; the attempts numbered in `slow` time out."""

    def __init__(self, slots: int, slow: tuple[int, ...] = ()) -> None:
        self.slots, self.slow = slots, set(slow)
        self.clients = self.peak = self.attempts = self.refusals = 0
        self.refused: asyncio.Event | None = None     # set at the first refusal, if given

    async def connect(self, dsn: str, **options: object) -> FakeConnection:   # timeout=
        self.attempts += 1
        if self.attempts in self.slow:
            raise TimeoutError
        if self.clients >= self.slots:
            self.refusals += 1
            if self.refused is not None:
                self.refused.set()
            raise asyncpg.TooManyConnectionsError("sorry, too many clients already")
        self.clients += 1
        self.peak = max(self.peak, self.clients)
        return FakeConnection(self)


class FakeConnection:
    def __init__(self, server: FakeServer) -> None:
        self.server, self.open = server, True

    async def fetchval(self, query: str, **options: object) -> int:
        return self.server.clients - 1               # every client but this (superuser) one

    async def close(self) -> None:
        if self.open:
            self.open = False
            self.server.clients -= 1


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer(slots=5)
    monkeypatch.setattr(asyncpg, "connect", fake.connect)
    monkeypatch.setattr(pgload, "TOP_UP_S", 0.01)
    return fake


def test_a_timed_out_attempt_is_tried_again_not_taken_for_a_full_server(
        server: FakeServer, tmp_path: Path) -> None:
    server.slow = {3, 4}
    asyncio.run(pgload.hold("dsn", 50, 0.3, tmp_path / "progress"))
    assert server.peak == 5                            # every slot was taken, despite 3 and 4
    assert (tmp_path / "progress").read_text() == "5 refused"
    assert server.clients == 0                         # and all given back at the end


def test_a_slot_freed_while_the_server_is_full_is_taken_back(server: FakeServer,
                                                             tmp_path: Path) -> None:
    async def another_client_leaves() -> None:
        server.refused = asyncio.Event()
        await server.refused.wait()
        server.slots += 1                              # e.g. an application pool shrank

    async def both() -> None:
        await asyncio.gather(pgload.hold("dsn", 50, 0.3, tmp_path / "progress"),
                             another_client_leaves())
    asyncio.run(both())
    assert server.peak == 6


def test_holding_all_it_asked_for_on_a_server_with_room(server: FakeServer,
                                                        tmp_path: Path) -> None:
    asyncio.run(pgload.hold("dsn", 3, 0.05, tmp_path / "progress"))
    assert server.peak == 3 and (tmp_path / "progress").read_text() == "3 all"


def _ctx(tmp_path: Path, progress: str) -> SimpleNamespace:
    (tmp_path / "progress").write_text(progress)
    platform = SimpleNamespace(ledger_dsn=lambda: "app", ledger_admin_dsn=lambda inst: "admin",
                               workspace=SimpleNamespace(scratch=lambda tag: tmp_path))
    return SimpleNamespace(platform=platform)


TARGET = SimpleNamespace(instances=["ledger-0"])


def _verify(tmp_path: Path, progress: str, connections: int = 250) -> ledger.Evidence:
    params = ledger.Connections(duration_s=30, connections=connections)
    return ledger._holding(_ctx(tmp_path, progress), TARGET, params, "fault-1", {})


def test_injected_only_when_a_new_client_is_observed_refused(server: FakeServer,
                                                             tmp_path: Path) -> None:
    server.clients = 5                                  # full
    full = _verify(tmp_path, "5 refused")
    assert full.ok and "a new client: refused (sorry, too many clients already)" in full.observed
    server.clients = 4                                  # the helper said refused; one slot free
    room = _verify(tmp_path, "5 refused")
    assert not room.ok and "a new client: accepted" in room.observed
    assert server.clients == 4                          # the probe gave its slot back


def test_a_probe_that_times_out_is_not_a_refusal(server: FakeServer, tmp_path: Path) -> None:
    server.clients, server.slow = 5, {1}
    slow = _verify(tmp_path, "5 refused")
    assert not slow.ok and "no answer (TimeoutError" in slow.observed


def test_holding_all_is_checked_against_the_servers_clients(server: FakeServer,
                                                            tmp_path: Path) -> None:
    server.clients = 3
    assert _verify(tmp_path, "3 all", connections=3).ok
    server.clients = 2                                   # the server does not see them all
    assert not _verify(tmp_path, "3 all", connections=3).ok
    assert not _verify(tmp_path, "2", connections=3).ok  # still connecting
