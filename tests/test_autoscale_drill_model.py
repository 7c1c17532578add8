"""The autoscaling drill's settings, verdict and record (no cluster), and the PromQL it reads
the latency SLO with, checked by Prometheus's own parser."""

from __future__ import annotations

import json
import math

import pytest

from controlplane.drills.autoscale_model import AutoscaleOutcome, AutoscaleSettings, p99_ms
from controlplane.drills.autoscale_slo import _BUCKET, _COUNT, _le
from controlplane.drills.loop import LoopEvidence
from controlplane.drills.model import Timeline
from controlplane.meter import Attempt, RpoResult
from controlplane.runbooks.model import check_promql


@pytest.mark.parametrize(("field", "value"), [("rate", 0), ("max_wait_s", -1),
                                               ("window_s", math.nan), ("slo_p99_ms", "x")])
def test_bad_settings_name_the_setting_and_value(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a positive number"):
        AutoscaleSettings(**{field: value})  # type: ignore[arg-type]


def test_p99_counts_only_acknowledged_orders_from_their_intended_time() -> None:
    attempts = [Attempt(i, 100.0, 100.0 + (i + 1) / 1000, "ack") for i in range(100)]
    attempts.append(Attempt(100, 100.0, 109.0, "timeout"))
    assert p99_ms(attempts) == pytest.approx(99.0)
    assert p99_ms([]) is None


def _outcome(**changes: object) -> AutoscaleOutcome:
    base: dict[str, object] = dict(
        settings=AutoscaleSettings(), load_started_at=1000.0, instances_before=1,
        instances_after=2, capacity_per_instance=50.0, alerted_at=1007.0, scale_out_at=1007.1,
        new_instance="matcher-1", instance_ready_at=1008.0, switched_at=1008.1,
        p99_recovered_at=1015.0, p99_before_ms=2400.0, p99_after_ms=80.0, sli_after=0.995,
        client_p99_before_ms=2500.0, client_p99_after_ms=90.0,
        rpo=RpoResult(3000, 0, 0.0), double_fills=0, crossed_books=[],
        outcomes={"ack": 3000},
        loop=LoopEvidence("MatcherSaturated", "matcher-autoscaling", 1007.0, 1006.9, 7,
                          "succeeded", None, 1007.0, 1007.1, "scale-out", 1020.0),
        timeline=Timeline())
    base.update(changes)
    return AutoscaleOutcome(**base)  # type: ignore[arg-type]


def test_a_good_loop_passes_and_its_record_is_plain_json() -> None:
    outcome = _outcome()
    assert outcome.passed and outcome.state == "passed"
    result = json.loads(json.dumps(outcome.result(), allow_nan=False))
    assert result["verdict"] == "PASS" and result["alert_to_ready_s"] == pytest.approx(1.0)
    assert result["instance_ready_s"] == pytest.approx(8.0) and result["rpo_orders"] == 0


@pytest.mark.parametrize(("changes", "reason"), [
    ({"alerted_at": None}, "never reached the control plane"),
    ({"instances_after": 1}, "was not scaled out"),
    ({"sli_after": 0.985, "p99_after_ms": 140.0}, "not back under 100 ms"),
    ({"sli_after": None}, "not back under 100 ms"),
    ({"client_p99_after_ms": 180.0}, "client p99 180.0 ms"),
    ({"p99_recovered_at": None}, "not back under 100 ms"),
    ({"rpo": RpoResult(3000, 2, 0.5, ["a", "b"])}, "2 acknowledged orders lost"),
    ({"double_fills": 1}, "filled more than their trades"),
    ({"crossed_books": ["AAPL"]}, "crossed books"),
])
def test_each_failed_measure_is_named(changes: dict, reason: str) -> None:
    outcome = _outcome(**changes)
    assert not outcome.passed
    assert any(reason in f for f in outcome.failures()), outcome.failures()


def test_the_slo_queries_pass_prometheus_parser() -> None:
    le = _le(0.1)
    assert le.endswith(',le="0.1"}')
    check_promql({
        "p99": f"histogram_quantile(0.99, sum by (le) (increase({_BUCKET}[10s])))",
        "sli": f"sum(increase({le}[10s])) / sum(increase({_COUNT}[10s]))",
    }, "autoscale_slo.py")


def _rendered(outcome: AutoscaleOutcome) -> str:
    from rich.console import Console

    from controlplane.drills.report import render_autoscale
    console = Console(width=160, record=True)
    console.print(render_autoscale(outcome, 4))
    return console.export_text()


def test_the_report_shows_the_measures_and_names_what_failed() -> None:
    timeline = Timeline()
    timeline.add("alerted", 1007.0, "alert MatcherSaturated received by the control plane")
    good = _rendered(_outcome(timeline=timeline))
    assert "drill #4: matcher autoscaling (matcher-1)" in good and "verdict: PASS" in good
    assert "+7.00 s  alerted" in good and "99.5% within 100 ms" in good and "1 -> 2" in good
    bad = _rendered(_outcome(double_fills=2))
    assert "verdict: FAIL" in bad and "2 orders filled more than their trades say" in bad
