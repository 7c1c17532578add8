"""Each locustfile (and each load shape) runs unchanged with the plain `locust` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from controlplane.load.target import gateway_url
from controlplane.platform import Platform

pytestmark = pytest.mark.cluster

LOADTESTS = Path(__file__).resolve().parents[2] / "loadtests"
LOCUST = Path(sys.executable).with_name("locust")
FILES = ["trading.py", "open_orders.py", "quotes.py",
         *(f"trading.py,shapes/{shape.name}" for shape in
           sorted((LOADTESTS / "shapes").glob("*.py")))]


@pytest.mark.parametrize("files", FILES)
def test_plain_locust_runs_the_locustfile(cluster: Platform, tmp_path: Path,
                                          files: str) -> None:
    paths = ",".join(str(LOADTESTS / f) for f in files.split(","))
    result = subprocess.run(
        [str(LOCUST), "-f", paths, "--headless", "-u", "5", "-r", "5", "-t", "3s",
         "--host", gateway_url(cluster), "--only-summary", "--exit-code-on-error", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Traceback" not in output
    aggregated = [line for line in output.splitlines() if "Aggregated" in line]
    assert aggregated and " 0(0.00%)" in aggregated[0], aggregated
