"""The objects the platform creates in the cluster for a fault, and how they are found again.

Every one (a NetworkPolicy, a Chaos Mesh NetworkChaos or StressChaos) carries

    labels       app.kubernetes.io/managed-by=controlplane
                 controlplane.io/fault-id=<the fault's tag, or link.<client>.<server>>
                 controlplane.io/run-id=<the fault's run (its record in the store), else
                                          $CONTROLPLANE_RUN_ID, else "none">
                 controlplane.io/cluster=<the topology's name>
    annotations  controlplane.io/expires-at=<RFC 3339, UTC>
                 controlplane.io/rule=<what it does, for people>

so that they are found by label selector whatever happened to the process that made them
(SIGKILL included): `delete_tagged` removes one fault's, `sweep` the expired ones and those of
faults no longer open. A Chaos Mesh object always sets `duration`, so the engine reverts it by
itself too. `create_all` creates a fault's objects in order and, when one fails, deletes the
ones it made before raising: nothing half-made stays behind.
"""

from __future__ import annotations

import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controlplane.platform.kubernetes.api import CHAOS_GROUP, CHAOS_VERSION, Kube

__all__ = ["KINDS", "MANAGED", "Made", "Objects", "chaos_body", "label_value"]

MANAGED = {"app.kubernetes.io/managed-by": "controlplane"}
FAULT, RUN = "controlplane.io/fault-id", "controlplane.io/run-id"
CLUSTER = "controlplane.io/cluster"
EXPIRES, RULE = "controlplane.io/expires-at", "controlplane.io/rule"
NETPOL = ("networking.k8s.io", "networkpolicies")
NETCHAOS, STRESS = (CHAOS_GROUP, "networkchaos"), (CHAOS_GROUP, "stresschaos")
KINDS = (NETPOL, NETCHAOS, STRESS)
CHAOS_KIND = {"networkchaos": "NetworkChaos", "stresschaos": "StressChaos"}


def label_value(text: str) -> str:
    """`text` as a valid label value (63 characters of [A-Za-z0-9._-], alphanumeric ends)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text)[:63].strip("._-")
    return cleaned or "none"


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_of(text: str) -> float | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError):
        return None


def chaos_body(plural: str, spec: dict[str, Any], ttl_s: float) -> dict[str, Any]:
    """A Chaos Mesh object of `plural` with `spec`, its `duration` always set."""
    return {"apiVersion": f"{CHAOS_GROUP}/{CHAOS_VERSION}", "kind": CHAOS_KIND[plural],
            "metadata": {}, "spec": {**spec, "duration": f"{math.ceil(ttl_s)}s"}}


@dataclass(frozen=True)
class Made:
    """One object the platform made: where it is and what it does."""

    group: str
    plural: str
    name: str
    rule: str
    fault_id: str
    expires_at: float | None

    @property
    def handle(self) -> str:
        return f"{self.plural}/{self.name}"

    @classmethod
    def of(cls, group: str, plural: str, obj: dict[str, Any]) -> Made:
        meta = obj.get("metadata", {})
        notes, labels = meta.get("annotations") or {}, meta.get("labels") or {}
        return cls(group, plural, meta.get("name", ""), notes.get(RULE, ""),
                   labels.get(FAULT, ""), epoch_of(notes.get(EXPIRES, "")))


class Objects:
    """The labelled objects of one cluster (topology) in the namespace."""

    def __init__(self, kube: Kube, cluster: str, clock: Callable[[], float] = time.time,
                 run_of: Callable[[str], str | None] = lambda fault_id: None) -> None:
        self.kube, self.cluster, self.clock = kube, label_value(cluster), clock
        self.run_of = run_of

    def run_id(self, fault_id: str) -> str:
        found = self.run_of(fault_id) or os.environ.get("CONTROLPLANE_RUN_ID") or "none"
        return label_value(found)

    def _kinds(self) -> list[tuple[str, str]]:
        chaos = CHAOS_GROUP in self.kube.served_groups()
        return [k for k in KINDS if chaos or k[0] != CHAOS_GROUP]

    def _selector(self, fault_id: str | None) -> str:
        parts = {**MANAGED, CLUSTER: self.cluster}
        if fault_id is not None:
            parts[FAULT] = label_value(fault_id)
        return ",".join(f"{k}={v}" for k, v in sorted(parts.items()))

    def stamp(self, body: dict[str, Any], fault_id: str, rule: str, ttl_s: float
              ) -> dict[str, Any]:
        """`body` with a fresh name, the platform's labels and annotations."""
        meta = body.setdefault("metadata", {})
        meta["name"] = f"cp-{label_value(fault_id).lower()[:40]}-{uuid.uuid4().hex[:8]}".replace(
            "_", "-").replace(".", "-")
        meta["labels"] = {**meta.get("labels", {}), **MANAGED, CLUSTER: self.cluster,
                          FAULT: label_value(fault_id), RUN: self.run_id(fault_id)}
        meta["annotations"] = {**meta.get("annotations", {}), RULE: rule,
                               EXPIRES: rfc3339(self.clock() + ttl_s)}
        return body

    def create_all(self, wanted: Iterable[tuple[tuple[str, str], dict[str, Any]]]
                   ) -> list[Made]:
        """Create each (kind, stamped body) in order; on a failure, delete what was made."""
        made: list[Made] = []
        try:
            for (group, plural), body in wanted:
                self.kube.create(group, plural, body)
                made.append(Made.of(group, plural, body))
        except BaseException:
            for obj in reversed(made):
                self.kube.delete(obj.group, obj.plural, obj.name)
            raise
        return made

    def tagged(self, fault_id: str | None = None,
               kinds: Iterable[tuple[str, str]] | None = None) -> list[Made]:
        """The objects of one fault (or all of this cluster's), of `kinds`."""
        selector = self._selector(fault_id)
        return [Made.of(g, p, obj) for g, p in (kinds or self._kinds())
                for obj in self.kube.listed(g, p, selector)]

    def delete_tagged(self, fault_id: str, kinds: Iterable[tuple[str, str]] | None = None
                      ) -> int:
        """Delete one fault's objects; idempotent. Returns how many went."""
        return sum(self.kube.delete(o.group, o.plural, o.name)
                   for o in self.tagged(fault_id, kinds))

    def sweep(self, open_tags: set[str] | None = None) -> list[str]:
        """Delete the objects whose expiry passed and, given `open_tags`, those of a
        `fault-<n>` no longer open. Returns their handles."""
        now, gone = self.clock(), []
        for obj in self.tagged():
            expired = obj.expires_at is None or obj.expires_at <= now
            closed = (open_tags is not None and obj.fault_id.startswith("fault-")
                      and obj.fault_id not in open_tags)
            if (expired or closed) and self.kube.delete(obj.group, obj.plural, obj.name):
                gone.append(obj.handle)
        return gone
