"""`python -m testbed.<service> --config <json>` as real processes, without a database:
bad configs exit 2 naming the file and field, services start before their dependencies,
an unreachable collector costs nothing, SIGTERM exits 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.http import call
from tests.support.net import free_port, wait_for
from tests.support.procs import Processes
from tests.testbed.cluster import REPO, TRADING

pytestmark = pytest.mark.cluster

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture()
def procs(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.close()


def write_config(tmp_path: Path, **config: Any) -> Path:
    path = tmp_path / f"{config.get('instance', 'svc')}.json"
    path.write_text(json.dumps(config))
    return path


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def start(procs: Processes, name: str, service: str, config: Path) -> str:
    procs.start(name, [sys.executable, "-m", f"testbed.{service}", "--config", str(config)],
                env=ENV, cwd=REPO)
    return name


@pytest.mark.parametrize("config, field", [
    ({"service": "gateway", "instance": "g", "port": "x", "trading": str(TRADING)}, "port"),
    ({"service": "gateway", "instance": "g", "port": 1, "trading": str(TRADING)}, "ledger_dsn"),
    ({"service": "marketdata", "instance": "m", "port": 1, "trading": str(TRADING)},
     "service"),
    ({"service": "gateway", "instance": "g", "port": 1, "trading": "/nope.yaml",
      "ledger_dsn": "postgresql://x@h/l", "matchers": ["http://h:1"],
      "marketdata": "http://h:2"}, ""),
])
def test_a_bad_config_exits_2_naming_the_file_and_field(tmp_path: Path, config: dict[str, Any],
                                                        field: str) -> None:
    path = write_config(tmp_path, **config)
    result = subprocess.run([sys.executable, "-m", "testbed.gateway", "--config", str(path)],
                            env=ENV, cwd=REPO, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 2, result.stderr
    expected = f"{path}: {field}: " if field else "/nope.yaml: cannot read the file"
    assert expected in result.stderr


def test_marketdata_serves_with_an_unreachable_collector_and_exits_0(
        tmp_path: Path, procs: Processes) -> None:
    port = free_port()
    config = write_config(tmp_path, service="marketdata", instance="marketdata-9", port=port,
                          trading=str(TRADING), otlp_endpoint=f"{closed_url()}/v1/traces")
    start(procs, "marketdata", "marketdata", config)
    url = f"http://127.0.0.1:{port}"
    wait_for("marketdata", lambda: call("GET", f"{url}/readyz", timeout=2)[0] == 200)
    for _ in range(20):
        assert call("GET", f"{url}/v1/quotes/AAPL")[0] == 200
    assert procs.stop("marketdata", signal.SIGTERM) == 0
    assert "stopped" in procs.get("marketdata").output()


def test_the_gateway_starts_before_its_dependencies(tmp_path: Path, procs: Processes) -> None:
    port = free_port()
    config = write_config(
        tmp_path, service="gateway", instance="gateway-9", port=port, trading=str(TRADING),
        ledger_dsn=f"postgresql://trader:pw@127.0.0.1:{free_port()}/ledger",
        matchers=[closed_url(), closed_url()], marketdata=closed_url(),
        ledger_deadline_seconds=0.5)
    start(procs, "gateway", "gateway", config)
    url = f"http://127.0.0.1:{port}"
    wait_for("the gateway", lambda: call("GET", f"{url}/healthz", timeout=2)[0] == 200)
    status, body = call("GET", f"{url}/readyz")
    assert status == 503 and body["reason"].startswith("ledger: ")
    order = {"account": "a", "symbol": "AAPL", "side": "buy", "type": "limit", "quantity": 1,
             "price": "190.00"}
    status, body = call("POST", f"{url}/v1/orders", order)
    assert status == 503 and body["retryable"] is True
    status, body = call("POST", f"{url}/v1/orders", {**order, "price": "300.00"})
    assert status == 422 and body["error"]["rule"] == "price_band"  # the reference price
    status, body = call("GET", f"{url}/v1/orders/{'0' * 8}-0000-0000-0000-{'0' * 12}")
    assert status == 503 and body["retryable"] is True
    assert call("GET", f"{url}/v1/quotes/AAPL")[0] == 503
    assert procs.stop("gateway", signal.SIGTERM) == 0
