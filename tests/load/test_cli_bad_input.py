"""Bad input to `controlplane load`: each message names what is wrong and where (exit 2)."""

from __future__ import annotations

from pathlib import Path

from tests.load.conftest import run_cli

HERE = Path(__file__).resolve().parent
NOWHERE = "http://127.0.0.1:9"       # nothing listens: no traffic is ever sent in these tests


def test_unknown_profile_lists_the_valid_ones(tmp_path: Path) -> None:
    result = run_cli("load", "run", "smoek", "--host", NOWHERE, "--state-dir",
                     str(tmp_path / "state"), cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown profile" in result.stderr and "smoke, soak" in result.stderr


def test_a_locustfile_import_error_shows_the_error_and_the_file(tmp_path: Path) -> None:
    result = run_cli("load", "run", "broken", "--profiles", str(HERE / "broken/profiles.yaml"),
                     "--host", NOWHERE, "--out", str(tmp_path / "out"),
                     "--state-dir", str(tmp_path / "state"), cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    out = result.stdout + result.stderr
    assert "ModuleNotFoundError" in out and "a_module_that_does_not_exist" in out
    assert "broken_locustfile.py" in out


def test_a_nonsensical_gate_threshold_names_the_field_and_the_file(tmp_path: Path) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("policies:\n  p:\n    latency:\n      - {percentile: 99, max_ms: -1}\n")
    result = run_cli("load", "run", "smoke", "--gates", str(gates), "--gate-policy", "p",
                     "--host", NOWHERE, "--state-dir", str(tmp_path / "state"), cwd=tmp_path)
    assert result.returncode == 2
    assert str(gates) in result.stderr and "policies.p.latency.0.max_ms" in result.stderr


def test_an_unknown_percentile_is_refused(tmp_path: Path) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("policies:\n  p:\n    latency:\n      - {percentile: 250, max_ms: 10}\n")
    result = run_cli("load", "run", "smoke", "--gates", str(gates), "--gate-policy", "p",
                     "--host", NOWHERE, "--state-dir", str(tmp_path / "state"), cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown percentile" in result.stderr and "percentile" in result.stderr


def test_load_goes_only_to_loopback(tmp_path: Path) -> None:
    result = run_cli("load", "run", "smoke", "--host", "http://10.1.2.3:80",
                     "--state-dir", str(tmp_path / "state"), cwd=tmp_path)
    assert result.returncode == 2 and "127.0.0.0/8" in result.stderr


def test_plan_without_a_calibration_says_how_to_get_one(tmp_path: Path) -> None:
    """Neither measured here nor shipped (retail ships one: see test_plan_basis.py)."""
    result = run_cli("load", "plan", "--users", "1000000", "--profile", "smoke",
                     "--state-dir", str(tmp_path / "state"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no calibration measured here or shipped" in result.stderr
    assert "`controlplane load calibrate smoke`" in result.stderr
