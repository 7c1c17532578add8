"""The capacity plan's arithmetic and the calibration's fit, checked by hand."""

from __future__ import annotations

import pytest

from controlplane.load.capacity import Step, basis_from_steps, linear_fit
from controlplane.load.plan import Basis, make_plan


def basis(**changes: object) -> Basis:
    values: dict[str, object] = dict(
        profile="retail", measured_at=0.0, host_cores=2, cpu_ceiling_pct=80.0,
        users_per_worker=2500.0, users_per_worker_measured=False, largest_step_users=800,
        largest_step_cpu_pct=30.0, requests_per_user_s=0.2, bytes_per_user=50 * 1024,
        worker_base_bytes=60 * 2**20, connections_per_user=1.0)
    values.update(changes)
    return Basis(**values)  # type: ignore[arg-type]


def test_one_million_users() -> None:
    plan = make_plan(1_000_000, basis(), ephemeral_ports=28232, fd_limit_here=1024)
    assert plan.workers == 400                      # 1e6 / 2500
    assert plan.masters == 1                        # 400 <= 1000
    assert plan.cores == 401
    assert plan.memory_bytes == 1_000_000 * 50 * 1024 + 400 * 60 * 2**20
    assert plan.requests_per_s == pytest.approx(200_000)
    assert plan.connections == 1_000_000
    assert plan.source_addresses == 36              # ceil(1e6 / 28232)
    assert plan.fds_per_worker == 2500 + 256
    notes = "\n".join(plan.notes)
    assert "EXTRAPOLATED linearly" in notes        # users per worker beyond the measured step
    assert "1,250x the largest measured step" in notes
    assert "36 source addresses" in notes and "raise `ulimit -n`" in notes


def test_rounding_up_and_the_master_limit() -> None:
    plan = make_plan(1_000_001, basis(users_per_worker=999.0), workers_per_master=1000)
    assert plan.workers == 1002                     # ceil(1000001 / 999)
    assert plan.masters == 2
    assert plan.cores == 1004
    assert any("2 independent master groups" in n for n in plan.notes)


def test_a_measured_basis_is_labelled_measured() -> None:
    plan = make_plan(1000, basis(users_per_worker_measured=True, largest_step_users=1600,
                                 largest_step_cpu_pct=85.0), fd_limit_here=100_000)
    assert any("measured (interpolated" in n for n in plan.notes)
    assert not any("ulimit" in n for n in plan.notes)
    assert plan.source_addresses == 1


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        make_plan(0, basis())
    with pytest.raises(ValueError):
        make_plan(10, basis(users_per_worker=0.0))


def test_linear_fit() -> None:
    assert linear_fit([100, 200, 400], [12, 22, 42]) == pytest.approx((2.0, 0.1))
    assert linear_fit([100], [10]) == pytest.approx((0.0, 0.1))    # one point: through 0


def step(users: int, cpu: float, rss_mib: float, rps: float, conns: float) -> Step:
    return Step(users=users, cpu_pct=cpu, rss_bytes=rss_mib * 2**20, connections=conns,
                requests_per_s=rps, error_ratio=0.0, p99_ms=10.0, verdict="passed",
                out_dir="")


def test_basis_from_steps() -> None:
    steps = [step(100, 12, 70, 20, 100), step(200, 22, 80, 40, 200), step(400, 42, 100, 80, 400)]
    b = basis_from_steps("retail", steps, ceiling_pct=80, host_cores=2, measured_at=1.0)
    assert b.users_per_worker == pytest.approx(780)          # (80 - 2) / 0.1
    assert not b.users_per_worker_measured                    # 42% < 80%
    assert b.bytes_per_user == pytest.approx(0.1 * 2**20)     # 100 KiB per user
    assert b.worker_base_bytes == pytest.approx(60 * 2**20)
    assert b.requests_per_user_s == pytest.approx(0.2)
    assert b.connections_per_user == pytest.approx(1.0)
    assert b.largest_step_users == 400


def test_basis_when_the_ceiling_was_reached() -> None:
    steps = [step(1000, 40, 100, 200, 1000), step(2000, 85, 150, 400, 2000)]
    b = basis_from_steps("retail", steps, ceiling_pct=80, host_cores=2, measured_at=1.0)
    assert b.users_per_worker_measured
    assert 1000 < b.users_per_worker < 2000
