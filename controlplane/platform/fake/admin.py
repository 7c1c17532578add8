"""The services' admin API as the fake answers it: `/admin/faults` on every testbed service and
a gateway's `/admin/acks` journal, in the shapes the real services give. The journal holds what
a test told the fake a gateway acknowledged (`FakePlatform.acknowledge`) and, as in the real
gateway's memory, empties when the gateway restarts. Any other call is `Unsupported`.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from controlplane.errors import PlatformError, Unsupported
from controlplane.platform.fake.controls import fault_view, put_fault, service
from controlplane.platform.fake.record import FakeCluster

__all__ = ["answer", "journal_since"]


def journal_since(cluster: FakeCluster, instance_id: str, since: float,
                  now: float) -> dict[str, Any]:
    """A gateway's GET /admin/acks?since=: the acks at or after `since`, and whether the
    journal covers all of that span (not when the gateway started after `since`)."""
    inst = cluster.instances[instance_id]
    covers_from = inst.started_at or now
    picked = [a for a in cluster.journals.get(instance_id, []) if a["at"] >= since]
    return {"since": since, "covers_from": covers_from, "complete": covers_from <= since,
            "truncated": False, "count": len(picked), "acks": [dict(a) for a in picked]}


def answer(cluster: FakeCluster, instance_id: str, method: str, path: str,
           body: dict[str, Any] | None, now: float) -> Any:
    """The JSON a service would answer; the caller holds the record."""
    inst = service(cluster, instance_id)
    url = urllib.parse.urlsplit(path)
    route = (method.upper(), url.path)
    if route == ("GET", "/admin/acks") and inst.kind == "gateway":
        return journal_since(cluster, instance_id, _since(url.query), now)
    if route == ("GET", "/admin/faults"):
        return fault_view(cluster, inst, now)
    if route == ("DELETE", "/admin/faults"):
        return {"cleared": cluster.service_faults.pop(instance_id, None) is not None}
    if route == ("PUT", "/admin/faults"):
        return put_fault(cluster, inst, body or {}, now)
    raise Unsupported("fake", f"the admin call {method.upper()} {url.path} on {inst.kind}",
                      "it answers /admin/faults, and /admin/acks on a gateway")


def _since(query: str) -> float:
    raw = urllib.parse.parse_qs(query).get("since", ["0"])[0]
    try:
        return float(raw)
    except ValueError:
        raise PlatformError(f"the gateway answered 400: since must be epoch seconds "
                            f"(got {raw!r})") from None

