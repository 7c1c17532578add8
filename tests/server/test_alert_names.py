"""The bound on distinct alert names: past `max_alert_names`, an alert of a new name is
refused (named in the reply, counted), names already held keep coming, the bound survives a
restart, and /metrics stops growing."""

from __future__ import annotations

import re
from pathlib import Path

from tests.server.alerting import intake_server, post, stored


def _named(*names: str) -> list[dict]:
    return [{"labels": {"alertname": name, "severity": "page"}} for name in names]


def test_new_names_past_the_limit_are_refused_and_counted(tmp_path: Path) -> None:
    with intake_server(tmp_path, max_alert_names=3) as server:
        status, reply = post(server, _named("A", "B", "C", "D", "E"))
        assert status == 200 and reply["received"] == 3
        assert [(e["index"], e["field"], e["value"]) for e in reply["invalid"]] == [
            (3, "[3].labels.alertname", "D"), (4, "[4].labels.alertname", "E")]
        assert "3 distinct names, its limit" in reply["invalid"][0]["message"]
        assert "--max-alert-names" in reply["invalid"][0]["message"]
        assert post(server, _named("A", "F"))[1]["received"] == 1     # A is held, F is new
        assert server.metric("controlplane_alerts_refused_total",
                             {"reason": "alertname limit"}) == 3
        assert server.metric("controlplane_alerts_refused_total", {"reason": "invalid"}) == 0
    assert {a.alertname for a in stored_after_restart(tmp_path)} == {"A", "B", "C"}


def stored_after_restart(state_dir: Path) -> list:
    with intake_server(state_dir, max_alert_names=3) as server:
        status, reply = post(server, _named("C", "G"))          # the names come from the store
        assert status == 200 and reply["received"] == 1 and reply["invalid"][0]["value"] == "G"
        return stored(server)


def test_a_flood_of_made_up_names_does_not_grow_the_metrics(tmp_path: Path) -> None:
    with intake_server(tmp_path, max_alert_names=10) as server:
        for start in range(0, 2000, 500):
            post(server, _named(*(f"Made{i}" for i in range(start, start + 500))))
        _, _, text = server.request("/metrics")
    names = set(re.findall(rb'controlplane_alerts_received_total\{alertname="([^"]+)"', text))
    assert len(names) == 10
