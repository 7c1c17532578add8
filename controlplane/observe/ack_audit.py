"""The continuous RPO audit: every order a gateway acknowledged in the last few minutes is still
in the ledger, checked on a short interval.

A failover runbook checks the acknowledgements once, right after the promotion. Orders can
still vanish later: a frozen primary that wakes up and takes its leader lock back makes the new
primary rewind its writes away (patroni#2689). So the service asks again and again, over a
sliding window, and exports what is missing as a metric; the `AcknowledgedOrdersMissing`
alert rule turns it into a page that names the gateway, the sequence ids and the time span.

Only a complete answer counts: while the ledger or a gateway does not answer (a failover in
progress), the check is recorded as `unavailable` and the last verdict stands.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["AckAudit", "AuditResult", "Missing", "find_missing"]

log = logging.getLogger(__name__)

Journals = Callable[[float], dict[str, dict[str, Any]]]     # since -> {gateway: journal}
Present = Callable[[list[str]], Awaitable[set[str]]]        # order ids -> those in the ledger
SHOW = 10                                                   # sequence ids named in the alert


@dataclass(frozen=True)
class Missing:
    gateway: str
    seqs: list[int]
    first_at: float
    last_at: float


@dataclass
class AuditResult:
    checked: int = 0
    missing: list[Missing] = field(default_factory=list)
    error: str | None = None


def find_missing(journals: dict[str, dict[str, Any]], present: set[str]) -> list[Missing]:
    """Per gateway, its acknowledgements that the ledger lacks (oldest first)."""
    out = []
    for gateway, journal in sorted(journals.items()):
        lost = sorted((a for a in journal.get("acks", []) if a["order_id"] not in present),
                      key=lambda a: a["seq"])
        if lost:
            out.append(Missing(gateway, [a["seq"] for a in lost], lost[0]["at"], lost[-1]["at"]))
    return out


class AckAudit:
    """Checks the last `window_s` of acknowledgements every `interval_s` and exports:
    `controlplane_acknowledged_orders_missing{gateway,first_seq,last_seq,seqs,first_at,last_at}`
    (how many; one series per gateway, gone when nothing is missing) and the checks' outcomes."""

    def __init__(self, journals: Journals, present: Present, registry: CollectorRegistry, *,
                 window_s: float = 300.0, interval_s: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._journals, self._present, self._clock = journals, present, clock
        self.window_s, self.interval_s = window_s, interval_s
        self._missing = Gauge(
            "controlplane_acknowledged_orders_missing", "Orders a gateway acknowledged in the "
            "audit window that the ledger does not hold", ["gateway", "first_seq", "last_seq",
                                                            "seqs", "first_at", "last_at"],
            registry=registry)
        self._checks = Counter("controlplane_ack_audit_checks", "RPO audit checks by outcome",
                               ["outcome"], registry=registry)
        self._checked = Gauge("controlplane_ack_audit_checked_orders", "Acknowledged orders "
                              "the last complete audit check compared", registry=registry)
        self._last_ok = Gauge("controlplane_ack_audit_last_complete_timestamp_seconds",
                              "When the audit last compared every journal with the ledger",
                              registry=registry)

    async def check_once(self) -> AuditResult:
        try:
            journals = await asyncio.to_thread(self._journals, self._clock() - self.window_s)
            broken = {g: j.get("error") for g, j in journals.items() if j.get("error")}
            if broken:
                raise ConnectionError(f"journals unavailable: {broken}")
            ids = sorted({a["order_id"] for j in journals.values() for a in j.get("acks", [])})
            present = await self._present(ids)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
                ValueError) as err:
            self._checks.labels("unavailable").inc()
            return AuditResult(error=f"{type(err).__name__}: {err}"[:300])
        result = AuditResult(checked=len(ids), missing=find_missing(journals, present))
        self._export(result)
        return result

    def _export(self, result: AuditResult) -> None:
        self._missing.clear()
        for m in result.missing:
            self._missing.labels(m.gateway, str(m.seqs[0]), str(m.seqs[-1]),
                                 ",".join(map(str, m.seqs[:SHOW])) + ("..." if len(m.seqs) > SHOW
                                                                      else ""),
                                 f"{m.first_at:.3f}", f"{m.last_at:.3f}").set(len(m.seqs))
        self._checked.set(result.checked)
        self._last_ok.set(self._clock())
        self._checks.labels("missing" if result.missing else "ok").inc()
        for m in result.missing:
            log.error("RPO audit: %s acknowledged orders of %s missing from the ledger, seq %s"
                      "..%s", len(m.seqs), m.gateway, m.seqs[0], m.seqs[-1])

    async def run(self, stop: asyncio.Event) -> None:
        """Check every `interval_s` until `stop` is set; a failing check never ends the loop."""
        while not stop.is_set():
            await self.check_once()
            try:
                await asyncio.wait_for(stop.wait(), self.interval_s)
            except TimeoutError:
                pass
