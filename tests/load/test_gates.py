"""Gate policies: validation that names the file and the field, live grace, final verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.errors import InvalidInput
from controlplane.load.gates import (
    DEFAULT_GATES,
    GatePolicy,
    GateWatch,
    final_failures,
    load_gate_policy,
)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "gates.yaml"
    path.write_text(body)
    return path


def test_the_shipped_policies_load() -> None:
    for name in ("default", "under-chaos", "breakpoint", "calibration"):
        load_gate_policy(name, DEFAULT_GATES)


@pytest.mark.parametrize(("body", "field", "value"), [
    ("policies: {p: {latency: [{percentile: 99, max_ms: -5}]}}",
     "policies.p.latency.0.max_ms", -5),
    ("policies: {p: {latency: [{percentile: 101, max_ms: 5}]}}",
     "policies.p.latency.0.percentile", 101),
    ("policies: {p: {latency: [{percentile: median, max_ms: 5}]}}",
     "policies.p.latency.0.percentile", "median"),
    ("policies: {p: {error_ratio: {max: 5}}}", "policies.p.error_ratio.max", 5),
    ("policies: {p: {grace_s: -1}}", "policies.p.grace_s", -1),
    ("policies: {p: {latency: [{percentile: 99, max_ms: 5, source: wrk}]}}",
     "policies.p.latency.0.source", "wrk"),
    ("policies: {p: {validity: {max_worker_cpu_pct: 150}}}",
     "policies.p.validity.max_worker_cpu_pct", 150),
])
def test_a_nonsensical_threshold_names_the_file_and_the_field(tmp_path: Path, body: str,
                                                              field: str, value: object) -> None:
    path = write(tmp_path, body)
    with pytest.raises(InvalidInput) as caught:
        load_gate_policy("p", path)
    assert caught.value.source == str(path)
    assert caught.value.field == field
    assert caught.value.value == value
    assert str(path) in str(caught.value) and field in str(caught.value)


def test_unknown_percentile_says_what_a_percentile_is(tmp_path: Path) -> None:
    path = write(tmp_path, "policies: {p: {latency: [{percentile: p0, max_ms: 5}]}}")
    with pytest.raises(InvalidInput, match="unknown percentile"):
        load_gate_policy("p", path)


def test_percentile_spellings(tmp_path: Path) -> None:
    path = write(tmp_path, 'policies: {p: {latency: [{percentile: "p99.9", max_ms: 5}]}}')
    assert load_gate_policy("p", path).latency[0].percentile == 99.9


def test_unknown_policy_lists_the_policies(tmp_path: Path) -> None:
    path = write(tmp_path, "policies: {a: {}, b: {}}")
    with pytest.raises(InvalidInput, match="policies in this file: a, b"):
        load_gate_policy("c", path)


def policy(**extra: object) -> GatePolicy:
    return GatePolicy.model_validate({"latency": [{"percentile": 99, "max_ms": 100}],
                                      "error_ratio": {"max": 0.01}, "grace_s": 5,
                                      "min_requests": 10, **extra})


def window(p99: float, requests: int = 100, failures: int = 0,
           pending: int = 0) -> dict[str, object]:
    return {"requests": requests, "failures": failures, "pending": pending,
            "latency_ms": {"p99": p99}}


def test_a_breach_aborts_only_after_the_grace_period() -> None:
    watch = GateWatch(policy())
    assert watch.observe(10.0, window(500)) is None
    assert watch.observe(14.0, window(500)) is None
    breach = watch.observe(15.0, window(500))
    assert breach is not None and breach.since_s == 5.0
    assert "p99 (from intended start) <= 100 ms" in breach.reason()
    assert "500.0 ms" in breach.reason()


def test_a_recovery_resets_the_grace_period() -> None:
    watch = GateWatch(policy())
    watch.observe(10.0, window(500))
    watch.observe(13.0, window(50))            # healthy again
    assert watch.observe(16.0, window(500)) is None
    assert watch.observe(21.0, window(500)) is not None


def test_too_few_requests_are_not_judged_but_pending_ones_count() -> None:
    watch = GateWatch(policy(grace_s=0))
    assert watch.observe(1.0, window(500, requests=3)) is None
    assert watch.observe(2.0, window(500, requests=3, pending=20)) is not None


def test_error_ratio_gate() -> None:
    watch = GateWatch(policy(grace_s=0))
    breach = watch.observe(1.0, window(5, requests=100, failures=5))
    assert breach is not None and "error ratio <= 1.00%" in breach.gate
    assert breach.observed == "5.00%"


def test_locust_source_reads_locusts_figures() -> None:
    p = GatePolicy.model_validate({"latency": [{"percentile": 99, "max_ms": 100,
                                                "source": "locust"}], "grace_s": 0})
    watch = GateWatch(p)
    assert watch.observe(1.0, window(500), {"p99": 50}) is None
    assert watch.observe(2.0, window(5), {"p99": 150}) is not None


def test_final_failures_judge_the_whole_run() -> None:
    totals = {"requests": 1000, "failures": 20, "latency_ms": {"p99": 80.0}}
    failures = final_failures(policy(), totals, {})
    assert failures == ["gate error ratio <= 1.00% failed over the whole run (observed 2.00%)"]
