"""The Alertmanager-compatible intake: what Prometheus posts (a JSON array) and what an
Alertmanager webhook posts (an object, version 4) are stored (firing, resent, resolved). Each
alert is judged on its own: the valid ones of a batch are stored and the invalid ones named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.alerting import FIRING, WEBHOOK, WEBHOOK_ALERT, intake_server, post, stored
from tests.server.conftest import NOW


@pytest.fixture
def intake(tmp_path: Path):
    with intake_server(tmp_path) as running:
        yield running


def test_firing_then_resent_then_resolved(intake) -> None:
    assert post(intake, [FIRING]) == (200, {"received": 1, "invalid": [], "ignored": []})
    assert post(intake, [FIRING])[0] == 200               # Prometheus resends firing alerts
    status, firing = intake.get_json("/api/v2/alerts")
    assert status == 200 and len(firing) == 1 and stored(intake)[0].receipts == 2
    intake.clock.now = NOW + 3600                          # now past endsAt: resolved
    assert post(intake, [FIRING])[0] == 200
    assert intake.get_json("/api/v2/alerts")[1] == []
    history = stored(intake)
    assert [a.status for a in history] == ["resolved"] and history[0].receipts == 3
    assert intake.metric("controlplane_alerts_received_total",
                         {"alertname": "LedgerNoPrimary", "severity": "page",
                          "status": "firing"}) == 2


def test_an_alertmanager_webhook_is_stored_then_resolved_by_its_status(intake) -> None:
    assert post(intake, WEBHOOK) == (200, {"received": 1, "invalid": [], "ignored": []})
    [alert] = stored(intake)
    assert (alert.alertname, alert.status, alert.ends_at) == ("OrderEntryDown", "firing", None)
    assert alert.starts_at == pytest.approx(1_699_996_381.739267)   # +01:00, nanoseconds cut
    assert alert.labels == WEBHOOK_ALERT["labels"] and alert.annotations["summary"]
    # endsAt still ahead of the clock: it is the status that resolves it
    resolved = {**WEBHOOK_ALERT, "status": "resolved", "endsAt": "2023-11-14T23:30:00+01:00"}
    assert post(intake, {**WEBHOOK, "status": "resolved", "alerts": [resolved]})[0] == 200
    assert [(a.status, a.receipts) for a in stored(intake)] == [("resolved", 2)]


def test_a_mixed_batch_stores_the_valid_alerts_and_names_the_invalid(intake) -> None:
    other = {"labels": {"alertname": "MarketDataStale", "severity": "critical"}}
    bad = [{"labels": {"severity": "page"}}, {"labels": {"alertname": "X", "n": 3}},
           {"labels": {"alertname": "X"}, "startsAt": "yesterday"},
           {"labels": {"alertname": "X"}, "startsAt": "2023-11-14T22:13:10"},  # no offset
           {"labels": {"alertname": "X"}, "status": "pending"},
           {"labels": {"alertname": "X"}, "generatorURL": 5}, "not an object"]
    status, reply = post(intake, [FIRING, *bad, other])
    assert status == 200 and reply["received"] == 2
    assert [(e["index"], e["field"]) for e in reply["invalid"]] == [
        (1, "[1].labels.alertname"), (2, "[2].labels"), (3, "[3].startsAt"),
        (4, "[4].startsAt"), (5, "[5].status"), (6, "[6].generatorURL"), (7, "[7]")]
    assert reply["invalid"][2]["value"] == "yesterday"
    assert "Use e.g. 2026-11-24T10:00:00Z" in reply["invalid"][2]["message"]   # how to fix
    assert {a.alertname for a in stored(intake)} == {"LedgerNoPrimary", "MarketDataStale"}
    assert intake.metric("controlplane_alerts_refused_total", {"reason": "invalid"}) == 7


def test_an_invalid_alert_of_a_webhook_is_named_by_its_path(intake) -> None:
    status, reply = post(intake, {**WEBHOOK, "alerts": [WEBHOOK_ALERT, {"labels": []}]})
    assert status == 200 and reply["received"] == 1
    assert [e["field"] for e in reply["invalid"]] == ["alerts[1].labels"]


def test_an_unexpected_severity_is_stored_and_counted_as_other(intake) -> None:
    urgent = {"labels": {"alertname": "Custom", "severity": "urgent"}}
    assert post(intake, [FIRING, urgent])[1]["received"] == 2
    assert {a.severity for a in stored(intake)} == {"page", "urgent"}
    assert intake.metric("controlplane_alerts_received_total",
                         {"alertname": "Custom", "severity": "(other)", "status": "firing"}) == 1


def test_unknown_fields_are_ignored_and_named(intake) -> None:
    grafana = {**WEBHOOK_ALERT, "silenceURL": "http://grafana/silence", "values": {"B": 1.5}}
    second = {**grafana, "labels": {"alertname": "OrderWritesFailing"}}
    status, reply = post(intake, {**WEBHOOK, "orgId": 1, "alerts": [grafana, second]})
    assert status == 200 and reply["received"] == 2
    assert reply["ignored"] == ["orgId", "alerts[0].silenceURL", "alerts[0].values"]


def test_without_a_state_directory_the_intake_says_so(server) -> None:
    status, body = post(server, [FIRING])
    assert status == 503 and "state directory" in body["error"]["message"]
