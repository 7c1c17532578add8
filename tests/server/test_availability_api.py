"""The reads behind the web UI's views: availability per SLO from Prometheus (a local fake
answering the SLI expressions), "no data" (None, with the reason) where Prometheus cannot say,
the alert history, and the experiment catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlplane.server import ServerSettings
from controlplane.slo.availability import today_window
from controlplane.slo.model import load_slos
from controlplane.slo.rules import sli_expr
from tests.support.credentials import bearer
from tests.support.fake_prometheus import fake_prometheus

from .conftest import NOW, serving


def _get(server, path: str) -> tuple[int, dict]:
    status, _, body = server.request(path, headers=bearer("viewer"))
    return status, json.loads(body)


def test_availability_comes_from_the_sli_expressions_and_the_budget_from_the_30_days(
        tmp_path: Path) -> None:
    slo = load_slos().slos[0]
    with fake_prometheus() as prom, serving(ServerSettings(
            port=0, state_dir=tmp_path, prometheus_url=prom.url)) as server:
        prom.values[sli_expr(slo, today_window(NOW))] = 0.0
        prom.values[sli_expr(slo, "30d")] = slo.budget / 4       # a quarter of the budget spent
        status, doc = _get(server, "/api/v1/availability")
    assert status == 200, doc
    first = doc["slos"][0]
    assert (first["slo"], first["today"], first["days_7"]) == (slo.name, 1.0, None)
    assert first["days_30"] == pytest.approx(1 - slo.budget / 4)
    assert first["budget_remaining_ratio"] == pytest.approx(0.75)
    assert first["budget_remaining_minutes"] == pytest.approx(0.75 * first["budget_minutes"])
    assert "7d: no samples" in first["problems"] and first["burn_down"] == []
    assert all(s["today"] is None for s in doc["slos"][1:])       # nothing set: no data


def test_without_a_cluster_every_figure_is_no_data_and_says_why(tmp_path: Path) -> None:
    with serving(ServerSettings(port=0, state_dir=tmp_path)) as server:
        status, doc = _get(server, "/api/v1/availability")
    assert status == 200 and doc["prometheus"] is None
    for row in doc["slos"]:
        assert row["today"] is row["days_30"] is row["budget_remaining_ratio"] is None
        assert "no cluster platform" in row["problems"][0]


def test_an_unreachable_prometheus_is_no_data_not_an_error(tmp_path: Path) -> None:
    with serving(ServerSettings(port=0, state_dir=tmp_path,
                                prometheus_url="http://127.0.0.1:9")) as server:
        status, doc = _get(server, "/api/v1/availability")
    assert status == 200 and all(r["days_30"] is None and r["problems"] for r in doc["slos"])


def test_the_alert_history_keeps_resolved_alerts_and_the_catalogue_lists_tags(
        tmp_path: Path) -> None:
    alerts = [{"labels": {"alertname": "A", "severity": "page"}, "startsAt":
               "2023-11-14T21:00:00Z", "endsAt": "2023-11-14T21:05:00Z"},
              {"labels": {"alertname": "B", "severity": "warning"},
               "startsAt": "2023-11-14T22:00:00Z"}]
    with serving(ServerSettings(port=0, state_dir=tmp_path)) as server:
        server.request("/api/v2/alerts", json.dumps(alerts).encode(),
                       {"Content-Type": "application/json", **bearer("alert-intake")})
        status, doc = _get(server, "/api/v1/alerts/history?limit=10")
        assert status == 200
        assert [(a["alertname"], a["status"]) for a in doc["alerts"]] == [
            ("B", "firing"), ("A", "resolved")]
        assert _get(server, "/api/v1/alerts/history?limit=0")[0] == 400
        status, doc = _get(server, "/api/v1/chaos/experiments")
    assert status == 200 and len(doc["experiments"]) >= 200
    assert all(e["tags"] for e in doc["experiments"])
