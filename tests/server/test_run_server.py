"""`run_server` as a real process: it serves, and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import free_port

SERVE = ("import sys; from pathlib import Path; "
         "from controlplane.server import ServerSettings, run_server; "
         "run_server(ServerSettings(port=int(sys.argv[1]), state_dir=Path(sys.argv[2])))")


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    pytest.fail(f"the server never became healthy: {process.communicate(timeout=5)}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_server_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(port), str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as reply:
            assert reply.status == 200
        process.send_signal(sig)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert process.returncode == 0, output.decode()
    assert (tmp_path / "controlplane.db").exists()
    assert not (tmp_path / "controlplane.db-wal").exists()  # the store was closed
