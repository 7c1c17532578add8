"""Each shipped runbook confirms its alert's condition before it acts, on the fake cluster with
Prometheus's API answered by a local server: a forged alert on a healthy cluster ends "not
confirmed" and leaves no trace on the cluster (no life of any instance begun or ended, nothing
scaled, no fault set, nobody notified); when the condition holds, the run goes on to its first
step. A label's value cannot rewrite the query that confirms it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.platform import Platform
from controlplane.runbooks.model import Runbook, check_promql, load_runbooks, resolve
from tests.support.alerted_runs import footprint, run_for_alert
from tests.support.fake_cluster import fake_cluster
from tests.support.fake_prometheus import FakePrometheus, fake_prometheus

SHIPPED = load_runbooks()
LABELS = {"instance_id": "gateway-0"}       # what an alert of the shipped triggers carries


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    return fake_cluster(tmp_path / "ws")


@pytest.fixture
def prom() -> Iterator[FakePrometheus]:
    with fake_prometheus() as prometheus:
        yield prometheus


def _labels(rb: Runbook, **extra: str) -> dict[str, str]:
    return {"alertname": rb.trigger.alert or "", "severity": "critical", **rb.trigger.labels,
            **LABELS, **extra}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_forged_alert_on_a_healthy_cluster_is_not_confirmed_and_acts_on_nothing(
        platform: Platform, prom: FakePrometheus, name: str) -> None:
    rb = SHIPPED[name][1]
    before = footprint(platform)
    done, steps = run_for_alert(platform, prom.url, rb, _labels(rb))
    assert done.state == "not_confirmed", (done.state, done.error)
    assert footprint(platform) == before
    assert [s.kind for s in steps] == ["confirm"]        # the first check failed; nothing ran
    check = resolve(rb, LABELS).confirm[0]
    assert done.error.startswith(f"not confirmed: {check.describe()}: ")
    assert steps[0].state == "failed" and steps[0].output["polls"] >= 2
    if check.promql:                                     # the evidence: the query and its answer
        assert steps[0].input == {"expr": check.promql} and check.promql in prom.queries
        assert "returned nothing" in steps[0].error


def _make_it_hold(platform: Platform, prom: FakePrometheus, rb: Runbook) -> None:
    """Make every confirmation check (and precondition) of `rb` hold."""
    filled = resolve(rb, LABELS)
    for check in filled.confirm:
        if check.promql:
            prom.values[check.promql] = 1.0
        elif check.action == "ledger.no_primary":
            platform.stop("ledger-0")                    # the primary is gone
    for call in filled.preconditions:
        prom.values[call.params["expr"]] = 1.0


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_when_the_condition_holds_the_run_goes_on_to_its_first_step(
        platform: Platform, prom: FakePrometheus, name: str) -> None:
    rb = SHIPPED[name][1]
    _make_it_hold(platform, prom, rb)
    done, steps = run_for_alert(platform, prom.url, rb, _labels(rb), approve=True)
    kinds = [s.kind for s in steps]
    assert kinds[:len(rb.confirm)] == ["confirm"] * len(rb.confirm)
    assert all(s.state == "succeeded" for s in steps if s.kind == "confirm")
    first = [s for s in steps if s.kind == "step"][0]
    assert (first.idx, first.name) == (0, rb.steps[0].name), (done.state, done.error)
    assert done.state != "not_confirmed"


def test_the_gateway_restart_confirms_the_instance_its_alert_names(
        platform: Platform, prom: FakePrometheus) -> None:
    rb = SHIPPED["gateway-restart"][1]
    platform.scale("gateway")
    expr = resolve(rb, {"instance_id": "gateway-1"}).confirm[0].promql or ""
    assert 'instance_id="gateway-1"' in expr and 'job="gateway"' in expr
    prom.values[expr] = 3.0                              # gateway-1 restarted 3 times
    before = platform.info().known("gateway-0").incarnation
    done, steps = run_for_alert(platform, prom.url, rb, _labels(rb, instance_id="gateway-1"))
    assert [s.input for s in steps if s.kind == "step"][0] == {"instance": "gateway-1"}
    assert platform.info().known("gateway-0").incarnation == before
    # the same alert naming gateway-0, which is not looping: nothing
    again, _ = run_for_alert(platform, prom.url, rb, _labels(rb, instance_id="gateway-0"))
    assert again.state == "not_confirmed" and 'instance_id="gateway-0"' in again.error


INJECTION = 'gateway-0"} or vector(1) or up{job="'


def test_a_label_value_cannot_rewrite_the_query_that_confirms_it(
        platform: Platform, prom: FakePrometheus) -> None:
    rb = SHIPPED["gateway-restart"][1]
    before = footprint(platform)
    done, steps = run_for_alert(platform, prom.url, rb, _labels(rb, instance_id=INJECTION))
    sent = steps[0].input["expr"]
    assert 'instance_id="gateway-0\\"} or vector(1) or up{job=\\""' in sent
    check_promql({"confirm": sent}, "test")      # still one selector, as Prometheus parses it
    assert done.state == "not_confirmed" and footprint(platform) == before
