"""`GET /api/v2/alerts` answers Alertmanager's `gettableAlerts`, checked against the schema
copied from Alertmanager's api/v2/openapi.yaml (schemas/alertmanager_gettable_alerts.json
says from which commit): every required field, every type, times as RFC 3339, and no field
the schema does not define."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.server.alerting import FIRING, WEBHOOK, intake_server, post

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "alertmanager_gettable_alerts.json")
                    .read_text())["definitions"]
TYPES = {"object": dict, "array": list, "string": str}
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def violations(value: Any, schema: dict, path: str = "$") -> list[str]:
    """What in `value` the Swagger 2.0 schema fragment refuses (the keywords it uses)."""
    if "$ref" in schema:
        return violations(value, SCHEMA[schema["$ref"].rsplit("/", 1)[1]], path)
    found = [v for part in schema.get("allOf", []) for v in violations(value, part, path)]
    kind = schema.get("type")
    if kind is not None and not isinstance(value, TYPES[kind]):
        return [*found, f"{path}: not a {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} not in {schema['enum']}")
    if schema.get("format") == "date-time" and not RFC3339.fullmatch(value):
        found.append(f"{path}: {value!r} is not RFC 3339")
    if kind == "object":
        found += [f"{path}.{k}: missing" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            found += violations(item, sub, f"{path}.{key}") if isinstance(sub, dict) else []
    if kind == "array":
        found += [v for i, item in enumerate(value)
                  for v in violations(item, schema["items"], f"{path}[{i}]")]
    return found


def defined_fields(name: str) -> set[str]:
    schema = SCHEMA[name]
    parts = [SCHEMA[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
             for p in schema.get("allOf", [schema])]
    return {key for part in parts for key in part.get("properties", {})}


def test_firing_alerts_follow_alertmanagers_gettable_alerts(tmp_path: Path) -> None:
    with intake_server(tmp_path) as intake:
        assert post(intake, [FIRING])[0] == 200
        assert post(intake, WEBHOOK)[0] == 200
        status, alerts = intake.get_json("/api/v2/alerts")
    assert status == 200 and len(alerts) == 2
    assert violations(alerts, SCHEMA["gettableAlerts"]) == []
    for alert in alerts:
        assert set(alert) <= defined_fields("gettableAlert"), set(alert)
        assert set(alert["status"]) <= defined_fields("alertStatus")
    by_name = {a["labels"]["alertname"]: a for a in alerts}
    ledger, gateway = by_name["LedgerNoPrimary"], by_name["OrderEntryDown"]
    assert ledger["startsAt"] == "2023-11-14T22:13:10.000Z"     # FIRING's, in milliseconds
    assert gateway["startsAt"] == "2023-11-14T21:13:01.739Z"    # in UTC
    assert datetime.fromisoformat(ledger["endsAt"]) == datetime.fromisoformat(FIRING["endsAt"])
    assert gateway["endsAt"] == "0001-01-01T00:00:00Z"          # firing, no end known
    assert ledger["updatedAt"] == "2023-11-14T22:13:20.000Z"    # when it arrived (the clock)
    assert ledger["status"] == {"state": "active", "silencedBy": [], "inhibitedBy": [],
                                "mutedBy": []}
    assert ledger["receivers"] == [{"name": "controlplane"}]


def test_the_schema_check_catches_what_the_old_reply_had_wrong() -> None:
    old = [{"fingerprint": "f", "labels": {}, "annotations": {}, "startsAt": 1.7e9,
            "status": {"state": "active"}, "receipts": 2}]
    assert set(violations(old, SCHEMA["gettableAlerts"])) >= {
        "$[0].startsAt: not a string", "$[0].endsAt: missing", "$[0].receivers: missing",
        "$[0].status.silencedBy: missing"}
