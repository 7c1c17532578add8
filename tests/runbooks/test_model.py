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
    ("duplicate step names", lambda d: d["steps"].append(dict(d["steps"][0])),
     ["steps", "unique"]),
    ("typo in a field", lambda d: d["steps"][0].update(timeot_s=3), ["steps.0.timeot_s"]),
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
