"""Notifications to on-call staff: through Alertmanager's receivers when the cluster has an
Alertmanager (email, webhook, Slack, PagerDuty: whatever its `people` receiver names), with a
link to the run; always also a line in the cluster's notification log.

The step's output records what happened: Alertmanager accepted the notification, or why it
did not (the log line is then the only copy), or that there is no Alertmanager to ask. A
failed delivery does not fail the step: a runbook that failed over the ledger must not roll
back because a pager was unreachable.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from controlplane.errors import ControlPlaneError
from controlplane.observe.alertmanager_config import NOTIFICATION_ALERT
from controlplane.runbooks.actions import ActionContext, action

__all__ = ["RUN_PATH", "Message", "notification_alert"]

RUN_PATH = "/api/v1/runbooks/runs/{run_id}"   # the control plane's record of one run
HOLD_S = 3600        # how long Alertmanager keeps the notification firing (one delivery)
POST_TIMEOUT_S = 5.0


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    message: str
    severity: Literal["info", "warning", "critical", "page"] = "info"


@action("notify", Message, "tell on-call staff (Alertmanager's receivers, and the log)")
def notify(ctx: ActionContext, params: Message) -> dict[str, Any]:
    now = time.time()
    found = _find(ctx)
    run_url = (found["controlplane"] + RUN_PATH.format(run_id=ctx.run_id)
               if found.get("controlplane") and ctx.run_id is not None else None)
    am = ctx.alertmanager_url or found.get("alertmanager")
    if am is None:
        out: dict[str, Any] = {
            "delivery": "log only", "run_url": run_url,
            "note": "this cluster has no Alertmanager, so no person was told; start it with "
                    "`cluster up --alertmanager` (or a service of kind alertmanager) and set "
                    "its people receiver"}
    else:
        alert = notification_alert(ctx, params, now, run_url, found.get("cluster", ""))
        out = {"run_url": run_url, "alertmanager": am, "labels": alert["labels"],
               **_post(am, alert)}
    out["log"] = _log(ctx, params, now, out)
    return out


def notification_alert(ctx: ActionContext, params: Message, now: float, run_url: str | None,
                       cluster: str) -> dict[str, Any]:
    """The notification as an Alertmanager v2 alert; its labels identify this one message."""
    digest = hashlib.sha256(f"{ctx.run_id}\0{params.message}\0{now}".encode()).hexdigest()
    labels = {"alertname": NOTIFICATION_ALERT, "severity": params.severity,
              "run_id": str(ctx.run_id), "notification": digest[:12]}
    if cluster:
        labels["cluster"] = cluster
    if ctx.runbook:
        labels["runbook"] = ctx.runbook
    if ctx.alert.get("alert"):                        # the alert that started the run
        labels["trigger"] = str(ctx.alert["alert"])
    annotations = {"summary": params.message}
    if run_url:
        annotations["run_url"] = run_url
    return {"labels": labels, "annotations": annotations,
            "startsAt": _iso(now), "endsAt": _iso(now + HOLD_S),
            **({"generatorURL": run_url} if run_url else {})}


def _post(am: str, alert: dict[str, Any]) -> dict[str, Any]:
    url = am.rstrip("/") + "/api/v2/alerts"
    req = urllib.request.Request(url, data=json.dumps([alert]).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=POST_TIMEOUT_S) as resp:
            return {"delivery": "accepted by alertmanager", "status": resp.status}
    except urllib.error.HTTPError as err:
        body = err.read()[:300].decode(errors="replace")
        return {"delivery": "failed", "error": f"{url} answered {err.code}: {body}"}
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        reason = getattr(err, "reason", err)
        return {"delivery": "failed", "error": f"{url} unreachable: {reason}"}


def _find(ctx: ActionContext) -> dict[str, str]:
    """The cluster's name, and its Alertmanager's and control plane's URLs, if it has them."""
    try:
        info = ctx.platform.info()
    except ControlPlaneError:
        return {}
    found = {"cluster": info.name}
    for inst in info.instances:
        if inst.kind in ("alertmanager", "controlplane") and inst.kind not in found:
            url = inst.endpoints.get("http")
            if url:
                found[inst.kind] = url
    return found


def _log(ctx: ActionContext, params: Message, now: float, out: dict[str, Any]) -> str:
    record = {"at": now, "severity": params.severity, "message": params.message,
              "run": ctx.run_id, "alert": ctx.alert.get("alert"),
              "delivery": out["delivery"], "error": out.get("error")}
    path = ctx.platform.workspace.notifications_log
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")
    return str(path)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
