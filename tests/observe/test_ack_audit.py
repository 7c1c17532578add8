"""The continuous RPO audit against fake journals and a fake ledger: what it exports, and what
it does while the ledger cannot be asked. The real loop (gateway journals, PostgreSQL,
Prometheus and the alert) runs in tests/cluster/test_ledger_hang.py."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from controlplane.observe.ack_audit import AckAudit, find_missing

NOW = 1_800_000_000.0


def _journal(*acks: tuple[str, int, float]) -> dict:
    return {"complete": True, "acks": [{"order_id": o, "seq": s, "at": t} for o, s, t in acks]}


class Ledger:
    def __init__(self, rows: set[str]) -> None:
        self.rows = rows
        self.down = False
        self.asked: list[list[str]] = []

    async def present(self, ids: list[str]) -> set[str]:
        self.asked.append(ids)
        if self.down:
            raise ConnectionRefusedError("ledger-proxy refused the connection")
        return self.rows & set(ids)


def _audit(journals: dict, ledger: Ledger, registry: CollectorRegistry) -> AckAudit:
    return AckAudit(lambda since: journals, ledger.present, registry, window_s=300,
                    interval_s=5, clock=lambda: NOW)


def _missing_series(registry: CollectorRegistry) -> list[dict[str, str]]:
    return [dict(s.labels, value=s.value) for m in registry.collect()
            if m.name == "controlplane_acknowledged_orders_missing" for s in m.samples]


def test_nothing_missing_exports_no_missing_series() -> None:
    registry = CollectorRegistry()
    journals = {"gateway-0": _journal(("a", 1, NOW - 3), ("b", 2, NOW - 2))}
    result = asyncio.run(_audit(journals, Ledger({"a", "b"}), registry).check_once())
    assert (result.checked, result.missing, result.error) == (2, [], None)
    assert _missing_series(registry) == []
    assert registry.get_sample_value("controlplane_ack_audit_checks_total",
                                     {"outcome": "ok"}) == 1


def test_missing_orders_are_named_by_gateway_sequence_and_time() -> None:
    registry = CollectorRegistry()
    journals = {"gateway-0": _journal(("a", 7, NOW - 9), ("b", 9, NOW - 5), ("c", 8, NOW - 7)),
                "gateway-1": _journal(("d", 3, NOW - 1))}
    result = asyncio.run(_audit(journals, Ledger({"a", "d"}), registry).check_once())
    assert [(m.gateway, m.seqs) for m in result.missing] == [("gateway-0", [8, 9])]
    [series] = _missing_series(registry)
    assert series == {"gateway": "gateway-0", "first_seq": "8", "last_seq": "9", "seqs": "8,9",
                      "first_at": f"{NOW - 7:.3f}", "last_at": f"{NOW - 5:.3f}", "value": 2.0}


def test_the_series_goes_when_the_orders_are_back() -> None:
    registry = CollectorRegistry()
    ledger = Ledger({"a"})
    audit = _audit({"gateway-0": _journal(("a", 1, NOW - 2), ("b", 2, NOW - 1))}, ledger,
                   registry)
    asyncio.run(audit.check_once())
    assert len(_missing_series(registry)) == 1
    ledger.rows.add("b")
    asyncio.run(audit.check_once())
    assert _missing_series(registry) == []


def test_an_unavailable_ledger_keeps_the_last_verdict_and_counts_the_check() -> None:
    """During a failover the ledger cannot be asked: that is neither 'ok' nor 'missing', and a
    page already raised must not resolve because the audit could not look."""
    registry = CollectorRegistry()
    ledger = Ledger(set())
    audit = _audit({"gateway-0": _journal(("a", 1, NOW - 2))}, ledger, registry)
    asyncio.run(audit.check_once())
    ledger.down = True
    result = asyncio.run(audit.check_once())
    assert result.error is not None and "refused" in result.error
    assert [s["seqs"] for s in _missing_series(registry)] == ["1"]
    assert registry.get_sample_value("controlplane_ack_audit_checks_total",
                                     {"outcome": "unavailable"}) == 1


def test_a_gateway_that_does_not_answer_makes_the_check_unavailable() -> None:
    registry = CollectorRegistry()
    journals = {"gateway-0": {"complete": False, "acks": [], "error": "gateway-0 is down"}}
    ledger = Ledger(set())
    result = asyncio.run(_audit(journals, ledger, registry).check_once())
    assert result.error is not None and "gateway-0 is down" in result.error
    assert ledger.asked == []


def test_the_alert_names_at_most_ten_sequence_ids() -> None:
    acks = [(f"o{i}", i, NOW - 20 + i) for i in range(15)]
    [m] = find_missing({"gateway-0": _journal(*acks)}, present=set())
    registry = CollectorRegistry()
    asyncio.run(_audit({"gateway-0": _journal(*acks)}, Ledger(set()), registry).check_once())
    [series] = _missing_series(registry)
    assert m.seqs == list(range(15))
    assert series["seqs"] == "0,1,2,3,4,5,6,7,8,9..." and series["last_seq"] == "14"
    assert series["value"] == 15.0


def test_the_loop_stops_when_asked() -> None:
    registry = CollectorRegistry()
    ledger = Ledger({"a"})

    async def run() -> None:
        stop = asyncio.Event()

        async def present(ids: list[str]) -> set[str]:
            if len(ledger.asked) == 2:
                stop.set()
            return await ledger.present(ids)
        audit = AckAudit(lambda since: {"gateway-0": _journal(("a", 1, NOW))}, present,
                         registry, interval_s=0.01, clock=lambda: NOW)
        await asyncio.wait_for(audit.run(stop), 5)
    asyncio.run(run())
    assert len(ledger.asked) == 3
