"""PrometheusClient against a real Prometheus that scrapes itself every second."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.errors import PrometheusError
from controlplane.observe.prometheus import PrometheusClient, Target

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the process group, politely first."""
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusClient]:
    if not os.access(PROMETHEUS, os.X_OK):
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    home: Path = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = home / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
    log = (home / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={home / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        client = PrometheusClient(f"http://127.0.0.1:{port}/", timeout=5)
        client.wait_ready(60)
        yield client
    finally:
        stop(process)
        log.close()


def wait_for_self_scrape(client: PrometheusClient) -> Target:
    deadline = time.monotonic() + 60
    while True:
        targets = [t for t in client.targets() if t.job == "prometheus"]
        if targets and targets[0].health == "up" and client.query("up"):
            return targets[0]
        if time.monotonic() > deadline:
            pytest.fail(f"Prometheus never scraped itself: {targets}")
        time.sleep(0.5)


@pytest.mark.cluster
def test_targets_show_prometheus_up(prometheus: PrometheusClient) -> None:
    target = wait_for_self_scrape(prometheus)
    assert target.scrape_pool == "prometheus"
    assert target.instance == prometheus.base_url.removeprefix("http://")
    assert target.last_error == "" and target.last_scrape is not None
    assert target.labels["job"] == "prometheus"


@pytest.mark.cluster
def test_query_returns_samples_and_scalars(prometheus: PrometheusClient) -> None:
    wait_for_self_scrape(prometheus)
    (sample,) = prometheus.query('up{job="prometheus"}')
    assert sample.value == 1.0 and sample.labels["job"] == "prometheus"
    assert sample.timestamp > 0
    (scalar,) = prometheus.query("1 + 1", at=sample.timestamp)
    assert (scalar.labels, scalar.value, scalar.timestamp) == ({}, 2.0, sample.timestamp)
    assert prometheus.query('up{job="nothing"}') == []


@pytest.mark.cluster
def test_query_range_returns_series(prometheus: PrometheusClient) -> None:
    wait_for_self_scrape(prometheus)
    now = time.time()
    (series,) = prometheus.query_range('up{job="prometheus"}', now - 60, now, 1)
    assert series.labels["job"] == "prometheus"
    assert series.points and all(value == 1.0 for _, value in series.points)


@pytest.mark.cluster
def test_bad_promql_names_the_expression(prometheus: PrometheusClient) -> None:
    with pytest.raises(PrometheusError, match=r"rejected query 'sum\(up' \(HTTP 400, "
                                              r"bad_data\): .*parse error"):
        prometheus.query("sum(up")
    with pytest.raises(PrometheusError, match="use query_range for range vectors"):
        prometheus.query("up[1m]")


@pytest.mark.cluster
def test_ready_and_reload(prometheus: PrometheusClient) -> None:
    assert prometheus.ready()
    prometheus.reload()


def test_unreachable_prometheus_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = PrometheusClient(url, timeout=2)
    with pytest.raises(PrometheusError, match=f"cannot reach Prometheus at {url}/api/v1/query"):
        client.query("up")
    assert client.ready() is False


def test_wait_ready_gives_up_by_the_injected_clock() -> None:
    now = [0.0]
    client = PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout=1,
                              clock=lambda: now[0],
                              sleep=lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(PrometheusError, match="is not ready after 3s"):
        client.wait_ready(3, interval=1)
    assert now[0] == 3.0
