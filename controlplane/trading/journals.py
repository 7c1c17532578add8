"""The order-entry journals: what each gateway acknowledged, read through its admin API.

The server side of the RPO check: an order a gateway acknowledged must be in the ledger, with
no client records needed. Built on `Platform.admin_request`, so any platform that runs the
gateways can answer it.
"""

from __future__ import annotations

from typing import Any

from controlplane.errors import PlatformError
from controlplane.platform import Platform

__all__ = ["acknowledged_orders"]


def acknowledged_orders(platform: Platform, since: float) -> dict[str, dict[str, Any]]:
    """Each gateway instance's journal of the orders it acknowledged since `since` (epoch s):
    {"gateway-0": {"complete": bool, "acks": [{"order_id", "seq", "at"}]}}. A gateway that is
    down or does not answer gives an incomplete journal with the reason, never an error."""
    out: dict[str, dict[str, Any]] = {}
    for inst in platform.instances("gateway"):
        if not inst.running:
            out[inst.id] = {"complete": False, "acks": [], "error": f"{inst.id} is down"}
            continue
        try:
            out[inst.id] = dict(platform.admin_request(inst.id, "GET",
                                                       f"/admin/acks?since={since!r}"))
        except PlatformError as err:
            out[inst.id] = {"complete": False, "acks": [], "error": f"{inst.id}: {err}"}
    return out
