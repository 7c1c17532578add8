"""Every dashboard panel's queries against the real cluster's Prometheus, after a failover
drill: each panel returns data (no empty panel). A stat or table panel's queries run as
Grafana runs them, instant at now; a time series panel's over the drill's window. A query
answered only with NaN counts as no data. A panel passes if one of its queries has data: the
adaptive bands (upper1h, lower1h) of a cluster idle before the drill are NaN for an hour,
since histogram_quantile of a zero rate is NaN and avg_over_time keeps it; such queries are
printed. Grafana itself is not run: nothing here renders a panel."""

from __future__ import annotations

import asyncio
import json
import math
import time

import pytest

from controlplane.application.drills import ledger_failover_drill
from controlplane.dashboards import panel_queries, render_all
from controlplane.drills import DrillSettings
from controlplane.observe.prometheus import PrometheusClient
from controlplane.store import Store

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]


def _panels() -> list[tuple[str, str, str, str]]:
    """(dashboard, panel type, panel title, expr) for every query of every panel."""
    found = []
    for name, text in render_all().items():
        doc = json.loads(text)
        kinds = {p["title"]: p["type"] for p in doc["panels"]}
        found += [(name, kinds[title], title, expr) for title, expr in panel_queries(doc)]
    return found


def _has_data(prom: PrometheusClient, kind: str, expr: str, start: float) -> bool:
    if kind == "timeseries":
        series = prom.query_range(expr, start, time.time(), 5)
        return any(not math.isnan(v) for s in series for _, v in s.points)
    return any(not math.isnan(s.value) for s in prom.query(expr))


def test_after_a_drill_every_panel_returns_data(cluster) -> None:
    start = time.time()
    with Store(cluster.workspace.store_path) as store:
        outcome = asyncio.run(ledger_failover_drill(
            cluster, store, DrillSettings(rate=50, warmup_s=3, settle_s=2)))
    assert outcome.drill_id is not None
    prom = PrometheusClient(cluster.instances("prometheus")[0].endpoints["http"])
    panels = _panels()
    pending = {(board, title) for board, _, title, _ in panels}
    answered: set[tuple[str, str]] = set()
    deadline = time.time() + 180           # a scrape after the drill; a pass is slow if loaded
    while pending and time.time() < deadline:
        for board, kind, title, expr in panels:
            if (board, title) in pending and _has_data(prom, kind, expr, start):
                answered.add((board, title))
        pending -= answered
        if pending:
            time.sleep(2)
    no_data = [p for p in panels if not _has_data(prom, p[1], p[3], start)]
    print("queries without data:", *(f"{b} / {t}: {e}" for b, _, t, e in no_data), sep="\n")
    assert not pending, "panels with no data: " + ", ".join(f"{b} / {t}" for b, t in pending)
    drill = prom.query('controlplane_drill_last_rto_seconds{drill_kind="ledger-failover"}')
    assert drill and drill[0].value == outcome.result()["rto_s"]
    assert prom.query('{__name__=~"controlplane_.+", exported_kind!=""}') == []
