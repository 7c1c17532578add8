"""The Alertmanager-compatible intake: what Prometheus posts is stored (firing, resent,
resolved), and a malformed batch is refused whole with a 400 naming the alert and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlplane.server import ServerSettings
from tests.server.conftest import NOW, FakeClock, serving

FIRING = {"labels": {"alertname": "LedgerNoPrimary", "severity": "page", "service": "ledger"},
          "annotations": {"summary": "no primary"}, "startsAt": "2023-11-14T22:13:10Z",
          "endsAt": "2023-11-14T22:20:00Z", "generatorURL": "http://prometheus/graph"}


@pytest.fixture
def intake(tmp_path: Path):
    clock = FakeClock()
    with serving(ServerSettings(port=0, state_dir=tmp_path), clock) as running:
        running.clock = clock
        yield running


def _post(server, payload) -> tuple[int, dict]:
    status, _, body = server.request("/api/v2/alerts", json.dumps(payload).encode(),
                                     {"Content-Type": "application/json"})
    return status, json.loads(body or b"{}")


def test_firing_then_resent_then_resolved(intake) -> None:
    assert _post(intake, [FIRING]) == (200, {"received": 1})
    assert _post(intake, [FIRING])[0] == 200               # Prometheus resends firing alerts
    status, firing = intake.get_json("/api/v2/alerts")
    assert status == 200 and len(firing) == 1 and firing[0]["receipts"] == 2
    intake.clock.now = NOW + 3600                          # now past endsAt: resolved
    assert _post(intake, [FIRING])[0] == 200
    assert intake.get_json("/api/v2/alerts")[1] == []
    history = intake.on_loop(lambda: intake.state.store.alert_history())
    assert [a.status for a in history] == ["resolved"] and history[0].receipts == 3
    assert intake.metric("controlplane_alerts_received_total",
                         {"alertname": "LedgerNoPrimary", "severity": "page",
                          "status": "firing"}) == 2


BAD = [
    ({"labels": {"severity": "page"}}, "[1].labels.alertname"),
    ({"labels": {"alertname": "X", "severity": "urgent"}}, "[1].labels.severity"),
    ({"labels": {"alertname": "X"}, "startsAt": "yesterday"}, "[1].startsAt"),
    ({"labels": {"alertname": "X", "n": 3}}, "[1].labels"),
    ("not an object", "[1]"),
]


@pytest.mark.parametrize(("bad", "field"), BAD)
def test_a_malformed_batch_is_refused_whole(intake, bad, field: str) -> None:
    status, body = _post(intake, [FIRING, bad])
    assert status == 400 and body["error"]["field"] == field
    assert intake.on_loop(lambda: intake.state.store.alert_history()) == []   # nothing kept


def test_not_json_or_not_an_array(intake) -> None:
    status, _, body = intake.request("/api/v2/alerts", b"{oops",
                                     {"Content-Type": "application/json"})
    assert status == 400 and b"not valid JSON" in body
    assert _post(intake, {"labels": {}})[0] == 400


def test_without_a_state_directory_the_intake_says_so(server) -> None:
    status, body = _post(server, [FIRING])
    assert status == 503 and "state directory" in body["error"]["message"]
