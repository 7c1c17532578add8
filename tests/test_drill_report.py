"""The drill's verdict, report and plot from a synthetic outcome (no processes)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from controlplane.drills import DrillOutcome, DrillSettings, Timeline
from controlplane.drills.plot import plot_drill
from controlplane.drills.report import render_outcome
from controlplane.meter import Attempt, latency_summary, measure_rpo, measure_rto, outcome_counts
from controlplane.topology import Targets


def _outcome(lost: set[str] = frozenset(), outage: float = 8.0) -> DrillOutcome:
    fault = 1000.0
    attempts = [Attempt(n, t, t + 0.005, "error" if fault <= t < fault + outage else "ack",
                        order_id=f"o{n}")
                for n, t in enumerate(fault - 5 + i / 50 for i in range(20 * 50))]
    acked = [a for a in attempts if a.ok]
    timeline = Timeline()
    timeline.add("fault_injected", fault, "kill")
    timeline.add("detected", fault + 0.5, "up == 0")
    timeline.add("routed", fault + outage, "to ledger-1")
    return DrillOutcome(
        kind="ledger-failover", target="ledger-0", new_primary="ledger-1", fault_at=fault,
        detected_at=fault + 0.5, promoted_at=fault + outage - 0.1, routed_at=fault + outage,
        rto=measure_rto(attempts, fault, 50),
        rpo=measure_rpo(acked, {a.order_id for a in acked} - set(lost)),
        latency=latency_summary(attempts), outcomes=outcome_counts(attempts),
        targets=Targets(), settings=DrillSettings(), timeline=timeline, attempts=attempts)


def test_a_clean_failover_passes_and_stores_finite_json() -> None:
    o = _outcome()
    assert o.passed and o.state == "passed"
    r = o.result()
    assert r["verdict"] == "PASS" and r["rpo_orders"] == 0
    assert abs(r["failover_s"] - 8.0) < 1e-6 and abs(r["detection_s"] - 0.5) < 1e-6
    assert all(c["passed"] for c in r["checks"])


def test_one_lost_acknowledged_order_fails_the_drill() -> None:
    o = _outcome(lost={"o3"})
    assert not o.passed
    assert o.result()["verdict"] == "FAIL" and o.result()["lost_order_ids"] == ["o3"]
    text = _render(o)
    assert "RPO: 1 of" in text and "FAIL" in text


def test_failover_slower_than_the_target_fails() -> None:
    assert not _outcome(outage=31.0).passed


def _render(o: DrillOutcome) -> str:
    console = Console(width=140, record=True)
    console.print(render_outcome(o, 7))
    return console.export_text()


def test_report_shows_the_timeline_relative_to_the_fault() -> None:
    text = _render(_outcome())
    assert "drill #7" in text and "+0.50 s  detected" in text and "verdict: PASS" in text


def test_plot_is_written_as_a_png(tmp_path: Path) -> None:
    o = _outcome()
    path = plot_drill(o, o.attempts, tmp_path / "d.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_a_hang_drill_fails_when_any_node_or_journal_lacks_an_acknowledged_order() -> None:
    """The meter's RPO reads through HAProxy; a hang drill also asks each node and the
    gateways' journals, and any one of them missing an order fails the drill."""
    from dataclasses import replace

    base = replace(_outcome(), kind="ledger-hang", settings=DrillSettings(hold_s=30))
    clean = replace(base, node_missing={"ledger-0": 0, "ledger-1": 0}, journal_missing=0)
    assert clean.passed
    assert "ledger primary hang, 30 s" in _render(clean)
    for lacking in (replace(clean, node_missing={"ledger-0": 0, "ledger-1": 3}),
                    replace(clean, journal_missing=1)):
        assert not lacking.passed
    noted = replace(clean, node_missing={"ledger-0": 0, "ledger-1": 3},
                    notes=["ledger-1 (the new primary) is standby now: it lost the leader lock"])
    text = _render(noted)
    assert "RPO on every ledger node (SQL)" in text and "lost the leader lock" in text
    assert noted.result()["node_missing"] == {"ledger-0": 0, "ledger-1": 3}
