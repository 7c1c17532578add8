"""Notifications: a line in the cluster's notification log (what a pager or chat hook would
receive), with the run and the alert."""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from controlplane.runbooks.actions import ActionContext, action


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    message: str
    severity: Literal["info", "warning", "critical", "page"] = "info"


@action("notify", Message, "tell on-call staff (the notification log)")
def notify(ctx: ActionContext, params: Message) -> dict[str, Any]:
    record = {"at": time.time(), "severity": params.severity, "message": params.message,
              "run": ctx.run_id, "alert": ctx.alert.get("alert")}
    path = ctx.platform.workspace.notifications_log
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")
    return {"notified": str(path)}
