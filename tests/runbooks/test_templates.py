"""Step parameters from the triggering alert's labels (`{{ labels.NAME }}`): checked at load
time against the labels the trigger's alert carries, filled when a run starts for an alert
(on the fake platform, the alert's instance restarts, not gateway-0), each filled value
checked by the action's model, and a manual run refused without its labels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from controlplane.errors import InvalidInput
from controlplane.observe.alerts import parse_alerts
from controlplane.platform import Platform
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import load_runbook, load_runbooks, resolve, template_labels
from controlplane.runbooks.templates import BadTemplate, substitute
from controlplane.store import Store
from tests.support.fake_cluster import fake_cluster

INSTANCE = "{{ labels.instance_id }}"
RESTART = {
    "name": "restart-alerted", "description": "d", "target": "gateway", "expected_rto_s": 5,
    "trigger": {"alert": "GatewayCrashLoop", "labels": {"service": "gateway"}},
    # a check that holds on the fake cluster (the shipped runbook asks Prometheus)
    "confirm": [{"action": "platform.wait_ready",
                 "params": {"instance": "gateway-0", "timeout_s": 1}}],
    "steps": [{"name": "restart", "action": "platform.restart",
               "params": {"instance": INSTANCE}},
              {"name": "tell", "action": "notify",
               "params": {"message": f"restarted {INSTANCE}", "severity": "warning"}}]}


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / f"{doc['name']}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _refused(tmp_path: Path, doc: dict) -> str:
    path = _write(tmp_path, doc)
    with pytest.raises(InvalidInput) as err:
        load_runbook(path)
    assert str(path) in str(err.value)
    return str(err.value)


def _with(**changes) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(RESTART))
    for key, value in changes.items():
        doc[key] = value
    return doc


def _step0(params: dict) -> list[dict]:
    return [{"name": "restart", "action": "platform.restart", "params": params}]


# load time -------------------------------------------------------------------------------
def test_a_template_of_a_label_the_alert_carries_loads(tmp_path: Path) -> None:
    rb = load_runbook(_write(tmp_path, RESTART))
    assert template_labels(rb) == ["instance_id"]
    assert rb.steps[0].params == {"instance": INSTANCE}


def test_a_label_the_alert_does_not_carry_is_refused_naming_step_field_and_labels(
        tmp_path: Path) -> None:
    message = _refused(tmp_path, _with(steps=_step0({"instance": "{{ labels.pod }}"})))
    assert "steps[0] (restart).params.instance" in message and "'pod'" in message
    assert "GatewayCrashLoop carries:" in message and "instance_id" in message


def test_an_aggregated_alert_has_no_instance_label(tmp_path: Path) -> None:
    """MarketDataStale is `min(...)`: it carries no instance_id to take."""
    message = _refused(tmp_path, _with(trigger={"alert": "MarketDataStale"},
                                       steps=_step0({"instance": INSTANCE})))
    assert "'instance_id'" in message and "MarketDataStale carries:" in message


def test_templates_need_a_trigger_alert(tmp_path: Path) -> None:
    message = _refused(tmp_path, _with(trigger={"manual": True}))
    assert "steps[0] (restart).params.instance" in message and "no trigger.alert" in message


def test_an_alert_outside_the_generated_rules_knows_only_its_trigger_labels(
        tmp_path: Path) -> None:
    ok = _with(trigger={"alert": "CustomAlert", "labels": {"instance_id": "gateway-1"}})
    assert template_labels(load_runbook(_write(tmp_path, ok))) == ["instance_id"]
    message = _refused(tmp_path, _with(trigger={"alert": "CustomAlert"}))
    assert "not an alert of the generated rules" in message


@pytest.mark.parametrize("text", ["{{ label.instance_id }}", "{{ labels.instance_id | upper }}",
                                  "{{ labels['instance_id'] }}", "gateway-{{ 1 + 1 }}",
                                  "{{ labels.instance_id"])
def test_anything_but_labels_name_is_refused(tmp_path: Path, text: str) -> None:
    message = _refused(tmp_path, _with(steps=_step0({"instance": text})))
    assert "unsupported template" in message and "steps[0] (restart).params.instance" in message


def test_a_template_in_promql_is_refused(tmp_path: Path) -> None:
    steps = _step0({"instance": "gateway-0"})
    steps[0]["verify"] = {"promql": 'up{instance_id="{{ labels.instance_id }}"} == 1'}
    message = _refused(tmp_path, _with(steps=steps))
    assert "steps[0] (restart).verify.promql" in message and "not substituted" in message


LOOPING = 'changes(process_start_time_seconds{instance_id="{{ labels.instance_id }}"}[1m]) >= 3'


def test_a_confirmation_takes_a_label_as_the_value_of_an_equality_matcher(
        tmp_path: Path) -> None:
    rb = load_runbook(_write(tmp_path, _with(confirm=[{"promql": LOOPING}])))
    assert template_labels(rb) == ["instance_id"]
    filled = resolve(rb, {"instance_id": 'gw"1\\'}).confirm[0].promql
    assert filled == LOOPING.replace("{{ labels.instance_id }}", 'gw\\"1\\\\')


@pytest.mark.parametrize("expr", [
    'up{instance_id=~"{{ labels.instance_id }}"}',          # a regex: ".*" would match all
    'up{instance_id!="{{ labels.instance_id }}"}',
    'up{instance_id="gateway-{{ labels.instance_id }}"}',   # only the whole value
    'up > {{ labels.instance_id }}',
    'label_replace(up, "x", "{{ labels.instance_id }}", "", "")',
])
def test_a_template_anywhere_else_in_a_confirmation_is_refused(tmp_path: Path,
                                                                expr: str) -> None:
    message = _refused(tmp_path, _with(confirm=[{"promql": expr}]))
    assert "confirm[0].promql" in message and "whole value of an = matcher" in message


def test_a_confirmation_may_only_take_a_label_the_alert_carries(tmp_path: Path) -> None:
    message = _refused(tmp_path, _with(confirm=[{"promql": 'up{pod="{{ labels.pod }}"}'}]))
    assert "confirm[0].promql" in message and "'pod'" in message


def _expect(expr: str) -> list[dict]:
    steps = _step0({"instance": "gateway-0"})
    steps[0]["verify"] = {"action": "prometheus.expect", "params": {"expr": expr}}
    return steps


def test_prometheus_expect_fills_its_expression_as_promql_too(tmp_path: Path) -> None:
    rb = load_runbook(_write(tmp_path, _with(steps=_expect(
        'up{instance_id="{{ labels.instance_id }}"} == 1'))))
    assert template_labels(rb) == ["instance_id"]
    filled = resolve(rb, {"instance_id": 'x"} or vector(1) #'}).steps[0].verify.params["expr"]
    assert filled == 'up{instance_id="x\\"} or vector(1) #"} == 1'
    message = _refused(tmp_path, _with(steps=_expect("up > {{ labels.instance_id }}")))
    assert "steps[0] (restart).verify.params.expr" in message and "= matcher" in message


def test_a_preconditions_promql_is_parsed_when_the_runbook_loads(tmp_path: Path) -> None:
    message = _refused(tmp_path, _with(preconditions=[
        {"action": "prometheus.expect", "params": {"expr": "sum(up"}}]))
    assert "preconditions[0].params.expr" in message and "Prometheus rejects" in message


def test_a_wrong_parameter_next_to_a_template_is_still_refused(tmp_path: Path) -> None:
    steps = [{"name": "wait", "action": "platform.wait_ready",
              "params": {"instance": INSTANCE, "timeout_s": "soon"}}]
    assert "steps[0] (wait).params.timeout_s" in _refused(tmp_path, _with(steps=steps))


def test_the_shipped_gateway_restart_takes_the_instance_from_its_alert() -> None:
    rb = load_runbooks()["gateway-restart"][1]
    assert template_labels(rb) == ["instance_id"]
    assert "gateway-0" not in yaml.safe_dump(rb.model_dump())
    filled = resolve(rb, {"instance_id": "gateway-1"})
    assert {s.name: s.params.get("instance") for s in filled.steps}["stop"] == "gateway-1"
    assert filled.steps[1].verify.params["instance"] == "gateway-1"
    assert filled.steps[1].rollback.params["message"].startswith("gateway-1 ")


# filling in ------------------------------------------------------------------------------
def test_substitution_is_one_pass_and_refuses_values_that_read_as_templates() -> None:
    assert substitute({"a": ["x {{ labels.n }}", 3]}, {"n": "1"}) == {"a": ["x 1", 3]}
    with pytest.raises(ValueError, match="holds"):
        substitute("{{ labels.n }}", {"n": "{{ labels.m }}"})
    with pytest.raises(BadTemplate):
        substitute("{{ n }}", {"n": "1"})


def test_filled_values_are_checked_by_the_actions_model(tmp_path: Path) -> None:
    doc = _with(steps=[{"name": "tell", "action": "notify",
                        "params": {"message": "m", "severity": INSTANCE}}])
    rb = load_runbook(_write(tmp_path, doc))          # a template: checked once filled
    with pytest.raises(InvalidInput) as err:
        resolve(rb, {"instance_id": "gateway-1"})
    assert "steps[0] (tell).params.severity" in str(err.value)
    assert "'gateway-1'" in str(err.value) and "runbook restart-alerted" in str(err.value)
    assert resolve(rb, {"instance_id": "page"}).steps[0].params["severity"] == "page"


@pytest.fixture()
def platform(tmp_path: Path) -> Platform:
    return fake_cluster(tmp_path / "ws")


def _alert(**labels: str):
    return {"labels": {"alertname": "GatewayCrashLoop", "severity": "critical",
                       "service": "gateway", **labels},
            "startsAt": "2026-11-24T00:00:00Z"}


def _run_for(platform: Platform, tmp_path: Path, alert: dict):
    rb = load_runbook(_write(tmp_path, RESTART))
    with Store(platform.workspace.store_path) as store:
        firing = store.receive_alerts(parse_alerts([alert], 1.79e9), 1.79e9)[0]
        engine = RunbookEngine(platform, store, poll_s=0.02)
        run = engine.start_for_alert(rb, firing)
        return engine.execute(run, rb), store.runbook_steps(run.id)


def test_a_run_for_an_alert_acts_on_the_instance_the_alert_names(
        platform: Platform, tmp_path: Path) -> None:
    platform.scale("gateway")
    before = {i: platform.info().known(i).incarnation for i in ("gateway-0", "gateway-1")}
    done, steps = _run_for(platform, tmp_path, _alert(instance_id="gateway-1"))
    assert done.state == "succeeded", done.error
    assert platform.info().known("gateway-1").incarnation != before["gateway-1"]
    assert platform.info().known("gateway-0").incarnation == before["gateway-0"]
    acted = [s for s in steps if s.kind == "step"]        # after the confirmation check
    assert acted[0].input == {"instance": "gateway-1"}
    assert acted[1].input["message"] == "restarted gateway-1"


def test_an_alert_without_the_label_fails_the_run_naming_the_field(
        platform: Platform, tmp_path: Path) -> None:
    done, steps = _run_for(platform, tmp_path, _alert())
    assert done.state == "failed" and steps == []
    assert "steps[0] (restart).params.instance" in done.error and "instance_id" in done.error


# a manual run ----------------------------------------------------------------------------
def _cli(platform: Platform, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    folder = tmp_path / "rbs"
    folder.mkdir(exist_ok=True)
    _write(folder, RESTART)
    return subprocess.run([sys.executable, "-m", "controlplane", "runbook", "run",
                           "restart-alerted", "--runbooks", str(folder), "--state-dir",
                           str(platform.workspace.root), *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("args", "expected"), [
    ((), "takes instance_id from its alert (GatewayCrashLoop); a manual run must give it. "
         "Pass --label instance_id=VALUE"),
    (("--label", "pod=x"), "takes no label 'pod' (got 'pod=x'). Its templates take: "
                           "instance_id"),
    (("--label", "instance_id"), "--label: not NAME=VALUE (got 'instance_id')"),
    (("--label", "instance_id=a", "--label", "instance_id=b"), "given twice"),
    (("--label", "instance_id={{ labels.x }}"), "holds {{ or }}"),
])
def test_a_manual_run_without_its_label_or_with_a_bad_one_exits_2_saying_so(
        platform: Platform, tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = _cli(platform, tmp_path, "--dry-run", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in " ".join(result.stderr.split()) and "Traceback" not in result.stderr


def test_a_manual_run_takes_the_label_on_the_command_line(
        platform: Platform, tmp_path: Path) -> None:
    platform.scale("gateway")
    result = _cli(platform, tmp_path, "--dry-run", "--label", "instance_id=gateway-1")
    assert result.returncode == 0, result.stdout + result.stderr
    with Store(platform.workspace.store_path) as store:
        run = store.runbook_runs(limit=1)[0]
        steps = store.runbook_steps(run.id)
    assert run.trigger == {"manual": True, "labels": {"instance_id": "gateway-1"}}
    assert steps[0].output["plan"] == {"instance": "gateway-1"}
