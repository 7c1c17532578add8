"""The reference cluster with Debian's Alertmanager in the loop (`cluster up --alertmanager`):
Prometheus -> Alertmanager -> the control plane's intake -> a runbook, resolved notifications
included, and the runbook's `notify` delivered by Alertmanager to a local receiver that plays
the on-call people's webhook.

Tests run in file order on one cluster.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest

from controlplane.platform import Platform
from controlplane.store import Store
from controlplane.topology import load_topology, with_alertmanager
from tests.support.cluster import running_cluster
from tests.support.loops import marketdata_stall_loop
from tests.support.net import wait_for
from tests.support.receiver import Receiver, receiver

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]


@pytest.fixture(scope="module")
def people() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


@pytest.fixture(scope="module")
def am_cluster(tmp_path_factory: pytest.TempPathFactory, people: Receiver) -> Iterator[Platform]:
    topo = with_alertmanager(load_topology())
    services = dict(topo.services)
    services["alertmanager"] = services["alertmanager"].model_copy(update={"settings": {
        "people": {"webhook_configs": [{"url": people.url + "/people"}]}}})
    with running_cluster(tmp_path_factory, topo.model_copy(update={"services": services}),
                         name="am-cluster") as platform:
        yield platform


def _url(platform: Platform, component: str) -> str:
    return platform.instances(component)[0].endpoints["http"]


def _get(url: str, token: str | None = None) -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return json.loads(r.read())


def _component_down(platform: Platform, status: str) -> list:
    with Store(platform.workspace.store_path) as store:
        return [a for a in store.alert_history(200, alertname="ComponentDown")
                if a.labels.get("instance_id") == "marketdata-0" and a.status == status]


def test_prometheus_sends_its_alerts_to_alertmanager(am_cluster) -> None:
    am = _url(am_cluster, "alertmanager")
    def active():
        found = _get(_url(am_cluster, "prometheus") + "/api/v1/alertmanagers")
        urls = [a["url"] for a in found["data"]["activeAlertmanagers"]]
        return urls or None
    assert wait_for("Prometheus discovering Alertmanager", active, timeout=30) == [
        am + "/api/v2/alerts"]


def test_a_down_component_reaches_the_control_plane_through_alertmanager_and_resolves(
        am_cluster) -> None:
    am = _url(am_cluster, "alertmanager")
    am_cluster.stop("marketdata-0")
    stopped = time.time()
    try:
        def at_alertmanager():
            return [a for a in _get(am + "/api/v2/alerts") if a["labels"].get("alertname")
                    == "ComponentDown" and a["labels"].get("instance_id") == "marketdata-0"
                    ] or None
        wait_for("ComponentDown at Alertmanager", at_alertmanager, timeout=60, interval=0.2)
        seen_am = time.time()
        [firing] = wait_for("ComponentDown at the control plane",
                            lambda: _component_down(am_cluster, "firing") or None,
                            timeout=60, interval=0.2)
        print(f"\nComponentDown: at Alertmanager {seen_am - stopped:.1f} s after the stop, "
              f"at the control plane {firing.first_received_at - stopped:.1f} s")
    finally:
        am_cluster.start("marketdata-0")
        restarted = time.time()
    wait_for("marketdata back", lambda: am_cluster.health("marketdata-0").ready or None,
             timeout=30)
    [resolved] = wait_for("the resolved notification handled",
                          lambda: _component_down(am_cluster, "resolved") or None,
                          timeout=90, interval=0.5)
    print(f"resolved at the control plane {resolved.last_received_at - restarted:.1f} s after "
          "the restart")
    assert resolved.fingerprint == firing.fingerprint and resolved.ends_at is not None
    owner = am_cluster.state.secrets()["owner"]
    still = [a for a in _get(_url(am_cluster, "controlplane") + "/api/v2/alerts", owner)
             if a["fingerprint"] == firing.fingerprint]
    assert still == []


def test_a_runbook_started_through_alertmanager_notifies_people(am_cluster,
                                                                people: Receiver) -> None:
    """A market-data stall: MarketDataStale goes Prometheus -> Alertmanager -> the intake,
    the marketdata-stall-recovery runbook restarts the service, and its last step's
    notification goes back through Alertmanager to the people receiver, link included."""
    wait_for("marketdata ready", lambda: am_cluster.health("marketdata-0").ready or None,
             timeout=30)
    since, loop = marketdata_stall_loop(am_cluster, "test-am-loop")
    assert loop.run_state == "succeeded", (loop.run_error, loop.steps)
    with Store(am_cluster.workspace.store_path) as store:
        [told] = [s for s in store.runbook_steps(loop.run_id) if s.action == "notify"]
    assert told.output["delivery"] == "accepted by alertmanager", told.output

    def delivered():
        return [(path, alert) for path, body in people.posts for alert in body["alerts"]
                if alert["labels"].get("run_id") == str(loop.run_id)] or None
    [(path, alert)] = wait_for("the notification at the people receiver", delivered,
                               timeout=30, interval=0.2)
    print(f"\nloop: alerted {loop.alerted_at - since:.1f} s after the stall, notification "
          f"delivered by {time.time() - since:.1f} s")
    assert path == "/people"
    assert alert["labels"]["alertname"] == "RunbookNotification"
    assert alert["labels"]["runbook"] == "marketdata-stall-recovery"
    link = alert["annotations"]["run_url"]
    run = _get(link, am_cluster.state.secrets()["owner"])       # the link leads to the run
    assert run["run"]["id"] == loop.run_id, run
    with Store(am_cluster.workspace.store_path) as store:        # and never back as a trigger
        assert store.alert_history(50, alertname="RunbookNotification") == []
