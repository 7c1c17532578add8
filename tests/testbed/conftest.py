"""Shared fixtures for the testbed tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.ledger.bootstrap import bootstrap_ledger
from testbed.trading import Trading, load_trading
from tests.support.otlp import TraceReceiver
from tests.support.pg import CREATED, pg_available, throwaway_postgres
from tests.support.procs import leftover_processes
from tests.testbed.cluster import Cluster, running_cluster

TRADING = Path(__file__).resolve().parents[2] / "testbed" / "trading.yaml"


@pytest.fixture(scope="session", autouse=True)
def nothing_left_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the session, no postgres or service started by these tests may still run."""
    yield
    markers = [str(tmp_path_factory.getbasetemp()), *(str(d) for d in CREATED)]
    assert leftover_processes(markers) == []


@pytest.fixture(scope="module")
def ledger_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL with the ledger bootstrapped (twice: it must be idempotent), as
    the app user (a password with a quote, to keep the quoting honest)."""
    reason = pg_available()
    if reason is not None:
        pytest.skip(reason)
    with throwaway_postgres(tmp_path_factory.mktemp("pg")) as pg:
        asyncio.run(bootstrap_ledger(pg.dsn, "trader", "pw'1"))
        asyncio.run(bootstrap_ledger(pg.dsn, "trader", "pw'1"))
        yield pg.dsn_for("trader", "pw'1", "ledger")


@pytest.fixture(scope="session")
def trading() -> Trading:
    return load_trading(TRADING)


@pytest.fixture(scope="module")
def otlp() -> Iterator[TraceReceiver]:
    receiver = TraceReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, otlp: TraceReceiver) -> Iterator[Cluster]:
    """The application services as real processes on a throwaway PostgreSQL, one per module."""
    reason = pg_available()
    if reason is not None:
        pytest.skip(reason)
    with running_cluster(tmp_path_factory.mktemp("cluster"), otlp.endpoint) as running:
        yield running
