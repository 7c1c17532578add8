"""The runbook `notify` action: it hands the message to Alertmanager as a RunbookNotification
alert with a link to the run, and its output records the delivery, the failure, or that there
was no Alertmanager. The HTTP side is a local server playing Alertmanager's v2 API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlplane.platform import Platform
from controlplane.runbooks import library  # noqa: F401 (registers the built-in actions)
from controlplane.runbooks.actions import ACTIONS, ActionContext
from controlplane.topology import load_topology, with_alertmanager
from tests.support.fake_cluster import fake_cluster
from tests.support.net import free_port
from tests.support.receiver import receiver


@pytest.fixture()
def platform(tmp_path: Path) -> Platform:
    return fake_cluster(tmp_path / "ws")


def _notify(platform: Platform, am: str | None, **params) -> dict:
    ctx = ActionContext(platform, run_id=7, alert={"alert": "LedgerNoPrimary"},
                        runbook="ledger-failover", alertmanager_url=am)
    return ACTIONS["notify"].run(ctx, ACTIONS["notify"].params(**params))


def _logged(platform: Platform) -> list[dict]:
    return [json.loads(line) for line in
            platform.workspace.notifications_log.read_text().splitlines()]


def test_notify_posts_a_notification_alert_with_the_run_link(platform: Platform) -> None:
    with receiver() as am:
        out = _notify(platform, am.url, message="ledger failed over", severity="page")
    [(path, [alert])] = am.posts
    assert path == "/api/v2/alerts"
    assert alert["labels"] == {
        "alertname": "RunbookNotification", "severity": "page", "run_id": "7",
        "notification": alert["labels"]["notification"], "cluster": "reference-trading",
        "runbook": "ledger-failover", "trigger": "LedgerNoPrimary"}
    link = "http://127.0.0.1:9/fake/controlplane-0/api/v1/runbooks/runs/7"
    assert alert["annotations"] == {"summary": "ledger failed over", "run_url": link}
    assert alert["startsAt"] < alert["endsAt"]
    assert (out["delivery"], out["run_url"], out["alertmanager"]) == (
        "accepted by alertmanager", link, am.url)
    assert _logged(platform)[-1]["delivery"] == "accepted by alertmanager"


def test_two_messages_of_one_run_are_two_notifications(platform: Platform) -> None:
    with receiver() as am:
        _notify(platform, am.url, message="starting")
        _notify(platform, am.url, message="done")
    first, second = (body[0]["labels"]["notification"] for _, body in am.posts)
    assert first != second            # Alertmanager would merge alerts with equal labels


def test_a_refusal_is_recorded_with_alertmanagers_answer(platform: Platform) -> None:
    with receiver() as am:
        am.status = 400
        out = _notify(platform, am.url, message="m")
    assert out["delivery"] == "failed"
    assert f"{am.url}/api/v2/alerts answered 400" in out["error"]
    assert _logged(platform)[-1]["delivery"] == "failed"          # the log still has it


def test_an_unreachable_alertmanager_is_recorded_not_raised(platform: Platform) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    out = _notify(platform, url, message="m")
    assert out["delivery"] == "failed"
    assert out["error"].startswith(f"{url}/api/v2/alerts unreachable")


def test_without_alertmanager_the_log_is_all_and_the_record_says_so(
        platform: Platform) -> None:
    out = _notify(platform, None, message="m")
    assert out["delivery"] == "log only"
    assert "no Alertmanager" in out["note"] and "--alertmanager" in out["note"]
    assert _logged(platform)[-1]["message"] == "m"


def test_the_clusters_own_alertmanager_is_found(tmp_path: Path) -> None:
    platform = fake_cluster(tmp_path / "ws", with_alertmanager(load_topology()))
    out = _notify(platform, None, message="m")
    # the fake's Alertmanager answers nowhere: found, asked, and the failure recorded
    assert out["alertmanager"] == "http://127.0.0.1:9/fake/alertmanager-0"
    assert out["delivery"] == "failed"
