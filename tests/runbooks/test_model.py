"""Runbook files: the shipped ones load; bad ones are refused at load time, naming the file
and the step."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controlplane.errors import InvalidInput
from controlplane.runbooks.model import RUNBOOKS_DIR, load_runbook, load_runbooks
from controlplane.slo import load_slos, render_rules

GOOD = {"name": "test-rb", "description": "d", "target": "ledger", "expected_rto_s": 5,
        "steps": [{"name": "one", "action": "ledger.wait_primary",
                   "params": {"timeout_s": 5}}]}


def _write(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    change(data)
    path = tmp_path / "rb.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_shipped_runbooks_load_and_their_alerts_exist() -> None:
    found = load_runbooks()
    assert {"ledger-failover", "gateway-restart", "marketdata-stall-recovery",
            "load-shedding"} <= set(found)
    alerts = {r["alert"] for g in yaml.safe_load(render_rules(load_slos()))["groups"]
              for r in g["rules"] if "alert" in r}
    for name, (_, rb) in found.items():
        assert rb.trigger.alert in alerts, f"{name} waits for an alert no rule raises"


def test_every_shipped_runbook_confirms_its_alerts_condition_before_it_acts() -> None:
    for name, (_, rb) in load_runbooks().items():
        assert rb.confirm, f"{name} acts on its alert's word alone"


ALERTED = {"trigger": {"alert": "LedgerNoPrimary", "labels": {"service": "ledger"}},
           "confirm": [{"action": "ledger.no_primary"}]}
TELL = {"name": "tell", "action": "notify", "params": {"message": "m"}}


def test_a_runbook_an_alert_starts_loads_with_its_confirmation(tmp_path: Path) -> None:
    rb = load_runbook(_write(tmp_path, lambda d: (d.update(ALERTED), d["steps"].append(TELL))))
    assert rb.confirm[0].action == "ledger.no_primary" and rb.confirm[0].within_s == 10


BAD = [
    ("unknown action", lambda d: d["steps"][0].update(action="ledger.explode"),
     ["steps[0] (one).action", "ledger.explode", "Use one of"]),
    ("missing parameter", lambda d: d["steps"].append({"name": "two", "action": "platform.start"}),
     ["steps[1] (two).params.instance", "Field required"]),
    ("wrong parameter", lambda d: d["steps"][0].update(params={"timeout_s": "soon"}),
     ["steps[0] (one).params.timeout_s"]),
    ("PromQL Prometheus rejects", lambda d: d["steps"][0].update(
        verify={"promql": "sum(rate(http_requests_total[1m])", "within_s": 5}),
     ["steps[0] (one).verify.promql", "Prometheus rejects", "sum(rate("]),
    ("bad rollback", lambda d: d["steps"][0].update(rollback={"action": "nope"}),
     ["steps[0] (one).rollback.action", "nope"]),
    ("bad rollback in a list", lambda d: d["steps"][0].update(rollback=[
        {"action": "notify", "params": {"message": "m"}}, {"action": "nope"}]),
     ["steps[0] (one).rollback[1].action", "nope"]),
    ("duplicate step names", lambda d: d["steps"].append(dict(d["steps"][0])),
     ["steps", "unique"]),
    ("typo in a field", lambda d: d["steps"][0].update(timeot_s=3), ["steps.0.timeot_s"]),
    ("an alert starts it, it acts, it confirms nothing",
     lambda d: (d.update(ALERTED, confirm=[]), d["steps"].append(TELL)),
     ["confirm:", "alert LedgerNoPrimary", "(notify)", "confirms nothing", "Add confirm"]),
    ("a confirmation that acts", lambda d: d.update(ALERTED, confirm=[
        {"action": "notify", "params": {"message": "m"}}]),
     ["confirm[0].action", "'notify'", "must act on nothing"]),
    ("a confirmation's unknown action", lambda d: d.update(ALERTED, confirm=[
        {"action": "ledger.nope"}]), ["confirm[0].action", "ledger.nope", "Use one of"]),
    ("a confirmation's PromQL Prometheus rejects", lambda d: d.update(ALERTED, confirm=[
        {"promql": "max(patroni_primary"}]),
     ["confirm[0].promql", "Prometheus rejects", "max(patroni_primary"]),
    ("a confirmation with both promql and action", lambda d: d.update(ALERTED, confirm=[
        {"promql": "up", "action": "ledger.no_primary"}]), ["confirm.0", "exactly one"]),
]


@pytest.mark.parametrize(("case", "change", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_runbooks_are_refused_naming_file_and_step(tmp_path: Path, case, change,
                                                       expected: list[str]) -> None:
    path = _write(tmp_path, change)
    with pytest.raises(InvalidInput) as err:
        load_runbook(path)
    message = str(err.value)
    assert str(path) in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_runbooks_dir_is_the_repository_folder() -> None:
    assert RUNBOOKS_DIR.name == "runbooks" and (RUNBOOKS_DIR / "ledger-failover.yaml").exists()
