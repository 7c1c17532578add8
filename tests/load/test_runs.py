"""Real load runs against one reference cluster: local and distributed, gates, validity,
chaos under load, calibration and the plan, all through the `controlplane load` command."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from controlplane.load.plan import Basis, make_plan
from controlplane.platform import Platform
from tests.load.conftest import run_cli

pytestmark = pytest.mark.cluster

HERE = Path(__file__).resolve().parent
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def load_run(cluster: Platform, tmp_path: Path, *args: str,
             timeout: float = 180) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "run"
    result = run_cli("load", "run", *args, "--out", str(out), "--json",
                     "--state-dir", str(cluster.workspace.root), cwd=tmp_path, timeout=timeout)
    data = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, data, result.stderr


def assert_figures(data: dict[str, Any]) -> None:
    summary = data["summary"]
    hdr, locust = summary["hdr"], summary["locust"]
    assert hdr["requests"] > 20 and locust["requests"] > 20
    for key in ("p50", "p90", "p99", "p99.9", "max"):
        assert hdr["latency_ms"][key] > 0 and hdr["service_ms"][key] > 0
    assert hdr["latency_ms"]["p99"] >= hdr["service_ms"]["p50"]
    assert locust["ms"]["p99"] is not None


def assert_files(run_dir: Path) -> None:
    for name in ("locust_report.html", "locust_stats.csv", "locust_stats_history.csv",
                 "locust_stats.json", "hdr_latency.hgrm", "hdr.json", "timeline.json",
                 "throughput.png", "latency.png", "result.json"):
        assert (run_dir / name).stat().st_size > 0, name
    assert "Locust" in (run_dir / "locust_report.html").read_text()


def test_local_run_collects_locust_and_hdr_figures(cluster: Platform,
                                                   tmp_path: Path) -> None:
    code, data, err = load_run(cluster, tmp_path, "smoke", "--users", "10", "--duration", "6")
    assert code == 0, err
    assert data["verdict"] == "passed" and data["mode"] == "local"
    assert_figures(data)
    assert data["summary"]["hdr"]["requests"] == data["summary"]["locust"]["requests"]
    assert_files(tmp_path / "run")
    listed = run_cli("load", "runs", "--state-dir", str(cluster.workspace.root), cwd=tmp_path)
    assert "smoke" in listed.stdout and "passed" in listed.stdout


def test_distributed_run_with_two_workers(cluster: Platform, tmp_path: Path) -> None:
    code, data, err = load_run(cluster, tmp_path, "smoke", "--users", "10", "--duration", "8",
                               "--mode", "distributed", "--workers", "2")
    assert code == 0, err
    assert data["mode"] == "distributed"
    assert_figures(data)
    assert len(data["peak_cpu"]) == 2                      # two workers reported their CPU
    hdr, locust = data["summary"]["hdr"]["requests"], data["summary"]["locust"]["requests"]
    assert abs(hdr - locust) <= 0.02 * locust, (hdr, locust)
    assert_files(tmp_path / "run")


def test_a_failing_gate_aborts_and_exits_non_zero_with_the_reason(cluster: Platform,
                                                                  tmp_path: Path) -> None:
    started = time.monotonic()
    code, data, err = load_run(cluster, tmp_path, "smoke", "--users", "10", "--duration", "30",
                               "--gates", str(HERE / "gates-impossible.yaml"),
                               "--gate-policy", "impossible")
    assert code == 1
    assert data["verdict"] == "failed"
    assert "gate p99 (from intended start) <= 0.001 ms breached" in err
    assert time.monotonic() - started < 25                 # aborted, not run to the end


def test_an_overloaded_generator_makes_the_run_invalid(cluster: Platform,
                                                        tmp_path: Path) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("policies:\n  tight-cpu:\n    validity: {max_worker_cpu_pct: 0.01, "
                     "cpu_window_s: 2}\n")
    code, data, err = load_run(cluster, tmp_path, "smoke", "--users", "20", "--duration", "6",
                               "--gates", str(gates), "--gate-policy", "tight-cpu")
    assert code == 4, err
    assert data["verdict"] == "invalid"
    assert any("CPU" in reason for reason in data["invalid"])


def test_a_target_never_reached_makes_the_run_invalid(cluster: Platform,
                                                      tmp_path: Path) -> None:
    code, data, _ = load_run(cluster, tmp_path, "smoke", "--users", "40", "--spawn-rate", "2",
                             "--duration", "4")
    assert code == 4
    assert any("target of 40 users was never reached" in r for r in data["invalid"])


def test_a_worker_that_dies_makes_the_run_invalid(cluster: Platform,
                                                  tmp_path: Path) -> None:
    run_dir = tmp_path / "run"

    def kill_one_worker() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for proc in psutil.process_iter(["cmdline", "cwd"]):
                cmd = " ".join(proc.info["cmdline"] or [])
                if "controlplane.load.worker" in cmd and proc.info["cwd"] == str(run_dir) \
                        and time.monotonic() > deadline - 15:
                    proc.kill()
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    code, data, err = load_run(cluster, tmp_path, "smoke", "--users", "10", "--duration", "12",
                               "--mode", "distributed", "--workers", "2")
    killer.join()
    assert code == 4, err
    assert any("exited during the run" in r or "went missing" in r for r in data["invalid"])


def test_load_with_chaos_marks_the_fault_window(cluster: Platform, tmp_path: Path) -> None:
    code, data, err = load_run(cluster, tmp_path, "smoke", "--users", "20", "--duration", "12",
                               "--gate-policy", "under-chaos",
                               "--chaos", str(HERE / "experiments/kill-gateway.json"),
                               "--chaos-at", "3")
    assert code == 0, err
    chaos = data["chaos"]
    assert chaos["status"] == "completed" and chaos["injected"] and chaos["rollbacks"] == 2
    start, end = chaos["window"]
    assert data["started_at"] + 2.5 < start < end
    assert chaos["failed_in_window"] >= 1                   # the gateway was really down
    assert all(TRACE_ID.match(t) for t in chaos["failed_trace_ids"])
    failed = [json.loads(line) for line in
              (tmp_path / "run" / chaos["failed_file"]).read_text().splitlines()]
    assert all(f["intended"] <= end and f["at"] >= start for f in failed)
    assert cluster.health("gateway-0").ready                # rolled back (restarted)
    assert (tmp_path / "run" / "latency.png").exists()


def test_a_steady_state_that_fails_first_makes_the_run_invalid(cluster: Platform,
                                                               tmp_path: Path) -> None:
    code, data, _ = load_run(cluster, tmp_path, "smoke", "--users", "5", "--duration", "5",
                             "--chaos", str(HERE / "experiments/steady-state-fails.json"),
                             "--chaos-at", "1")
    assert code == 4
    assert data["chaos"]["steady_state_before"] is False and not data["chaos"]["injected"]
    assert any("injected nothing" in r for r in data["invalid"])


@pytest.mark.e2e
def test_a_gate_abort_interrupts_the_experiment_and_its_rollbacks_run(
        cluster: Platform, tmp_path: Path) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("policies:\n  quick:\n    latency: [{percentile: 99, max_ms: 1000}]\n"
                     "    grace_s: 3\n    window_s: 3\n    min_requests: 5\n")
    started = time.monotonic()
    code, data, err = load_run(cluster, tmp_path, "smoke", "--users", "20", "--duration", "45",
                               "--gates", str(gates), "--gate-policy", "quick",
                               "--chaos", str(HERE / "experiments/pause-gateway-long.json"),
                               "--chaos-at", "2")
    assert code == 1, err
    assert time.monotonic() - started < 35                  # the 30 s pause was cut short
    chaos = data["chaos"]
    assert chaos["status"] == "interrupted"
    assert chaos["interrupted_by"].startswith("load run stopped: gate p99")
    assert chaos["rollbacks"] == 2                          # strategy: always
    assert cluster.info().instance("gateway-0").state == "running"
    assert cluster.health("gateway-0").ready


def test_calibrate_and_plan_for_real(cluster: Platform, tmp_path: Path) -> None:
    state = str(cluster.workspace.root)
    result = run_cli("load", "calibrate", "smoke", "--steps", "5,10", "--step-duration", "4",
                     "--out", str(tmp_path / "cal"), "--json", "--state-dir", state,
                     cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    calibration = json.loads(result.stdout)
    assert [s["users"] for s in calibration["steps"]] == [5, 10]
    basis = calibration["basis"]
    assert basis["users_per_worker"] > 0 and basis["bytes_per_user"] > 0
    assert basis["requests_per_user_s"] > 0 and basis["connections_per_user"] > 0
    plan = run_cli("load", "plan", "--users", "1000000", "--profile", "smoke", "--json",
                   "--state-dir", state, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    figures = json.loads(plan.stdout)
    expected = make_plan(1_000_000, Basis.from_dict(basis),
                         ephemeral_ports=figures["ephemeral_ports"],
                         fd_limit_here=figures["fd_limit_here"])
    assert figures["workers"] == expected.workers and figures["cores"] == expected.cores
    assert any("EXTRAPOLATED" in note for note in figures["notes"])
    text = run_cli("load", "plan", "--users", "1000000", "--profile", "smoke",
                   "--calibration", str(tmp_path / "cal" / "calibration.json"),
                   "--state-dir", state, cwd=tmp_path)
    assert text.returncode == 0 and "measured basis" in text.stdout
