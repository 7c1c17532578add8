"""What the alert intake tests share: the payloads Prometheus and Alertmanager send, a server
with a state directory and a fake clock, and how to post and read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from controlplane.server import ServerSettings
from tests.server.conftest import FakeClock, RunningServer, serving

# as Prometheus's notifier posts it (a JSON array of these)
FIRING = {"labels": {"alertname": "LedgerNoPrimary", "severity": "page", "service": "ledger"},
          "annotations": {"summary": "no primary"}, "startsAt": "2023-11-14T22:13:10Z",
          "endsAt": "2023-11-14T22:20:00Z", "generatorURL": "http://prometheus/graph"}
# as Alertmanager's webhook notifier writes it (notify/webhook/webhook.go, template.Data)
WEBHOOK_ALERT = {"status": "firing",
                 "labels": {"alertname": "OrderEntryDown", "severity": "page",
                            "service": "gateway"},
                 "annotations": {"summary": "gateway down"},
                 "startsAt": "2023-11-14T22:13:01.739266876+01:00",
                 "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                 "fingerprint": "1a30ba71cca2921f"}
WEBHOOK = {"receiver": "controlplane", "status": "firing", "alerts": [WEBHOOK_ALERT],
           "groupLabels": {"alertname": "OrderEntryDown"},
           "commonLabels": WEBHOOK_ALERT["labels"], "commonAnnotations": {},
           "externalURL": "http://alertmanager:9093", "version": "4",
           "groupKey": '{}:{alertname="OrderEntryDown"}', "truncatedAlerts": 0}


@contextmanager
def intake_server(state_dir: Path, **settings: Any) -> Iterator[RunningServer]:
    """The service with a store in `state_dir`; `.clock.now` moves its time."""
    clock = FakeClock()
    with serving(ServerSettings(port=0, state_dir=state_dir, **settings), clock) as running:
        running.clock = clock               # type: ignore[attr-defined]
        yield running


def post(server: RunningServer, payload: Any) -> tuple[int, dict]:
    status, _, body = server.request("/api/v2/alerts", json.dumps(payload).encode(),
                                     {"Content-Type": "application/json"})
    return status, json.loads(body or b"{}")


def stored(server: RunningServer) -> list:
    """Every alert the store holds, newest first."""
    return server.on_loop(lambda: server.state.store.alert_history())
