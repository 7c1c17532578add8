"""The evidence metrics read from a seeded store: the scraped text holds each series with
its value, labels stay bounded, a store error is a 0 on controlplane_evidence_up and not a
failed scrape, and the service serves them on /metrics across a restart."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from controlplane.observe.alerts import AlertIn
from controlplane.observe.evidence_metrics import EvidenceCollector
from controlplane.observe.score import DAY_S
from controlplane.server import ServerSettings
from controlplane.store import Store
from tests.server.conftest import FakeClock, serving

NOW = 1_800_000_000.0
TARGETS = {"targets": {"rto_seconds": 300, "rpo_orders": 0, "failover_seconds": 30}}


def _drill(store: Store, clock: FakeClock, kind: str, result: dict, *, reverted: bool) -> None:
    drill = store.create_drill(kind, "ledger-1", TARGETS)
    fault = store.record_fault("process-kill", "ledger-1", {}, run_id=f"drill-{drill.id}")
    store.mark_fault_injected(fault.id, clock.now)
    if reverted:
        store.mark_fault_reverted(fault.id, clock.now, {"observed": "running"})
    clock.now += 60
    store.finish_drill(drill.id, "passed" if reverted else "failed", result)


def _chaos(store: Store, clock: FakeClock, run_id: str, state: str, kinds: list[str]) -> None:
    store.start_chaos_run(run_id, "network-delay", "Network delay", ["network"])
    for kind in kinds:
        fault = store.record_fault(kind, "gateway-1", {}, run_id=run_id)
        store.mark_fault_injected(fault.id, clock.now)
        store.mark_fault_reverted(fault.id, clock.now, {"observed": "clean"})
    clock.now += 30
    store.finish_chaos_run(run_id, state, None, {"rto_s": None, "rpo_orders": None})


def _runbook(store: Store, clock: FakeClock, name: str, target: str, state: str,
             took: float) -> None:
    run = store.start_runbook_run(name, target, "alert", {"alertname": "LedgerDown"})
    assert run is not None
    clock.now += took
    store.set_run_state(run.id, state)


def _alert(name: str, severity: str, fingerprint: str) -> AlertIn:
    return AlertIn(fingerprint, {"alertname": name, "severity": severity}, {}, NOW - 10, None,
                   "")


def seed(store: Store, clock: FakeClock) -> None:
    _drill(store, clock, "ledger-failover", {"rto_s": 40.0, "rpo_orders": 0,
                                             "detection_s": 3.5, "failover_s": 21.0},
           reverted=True)
    _drill(store, clock, "ledger-failover", {"rto_s": 12.5, "rpo_orders": 0,
                                             "detection_s": 2.0, "failover_s": 9.0},
           reverted=True)
    _drill(store, clock, "ledger-hang", {"rto_s": 400.0, "rpo_orders": 2,
                                         "detection_s": 30.0, "failover_s": 50.0},
           reverted=False)
    _chaos(store, clock, "run-1", "passed", ["network-delay"])
    _chaos(store, clock, "run-2", "failed", ["network-delay", "packet-loss"])
    _chaos(store, clock, "run-3", "refused", [])
    _runbook(store, clock, "ledger-failover", "ledger", "succeeded", 20)
    _runbook(store, clock, "ledger-failover", "ledger", "failed", 400)
    store.receive_alerts([_alert("LedgerDown", "critical", "a"), _alert("LedgerDown",
                          "critical", "b"), _alert("SlowOrders", "sev9", "c")], clock.now)


def scrape(store: Store | None, clock: FakeClock, max_names: int = 500) -> dict[tuple, float]:
    registry = CollectorRegistry()
    registry.register(EvidenceCollector(lambda: store, clock, max_names))
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_a_seeded_store_scrapes_as_series_with_their_values(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Store(tmp_path / "cp.db", clock=clock) as store:
        seed(store, clock)
        got = scrape(store, clock)
    failover = (("drill_kind", "ledger-failover"),)
    assert got[("controlplane_drill_last_rto_seconds", failover)] == 12.5       # the latest
    assert got[("controlplane_drill_last_detection_seconds", failover)] == 2.0
    assert got[("controlplane_drill_last_failover_seconds", failover)] == 9.0
    assert got[("controlplane_drill_last_rpo_orders", (("drill_kind", "ledger-hang"),))] == 2
    assert got[("controlplane_drill_target_rto_seconds", failover)] == 300
    assert got[("controlplane_drill_last_passed", (("drill_kind", "ledger-hang"),))] == 0
    assert got[("controlplane_drills_total", (("drill_kind", "ledger-failover"),
                                              ("state", "passed")))] == 2
    chaos = "controlplane_chaos_runs_total"
    assert got[(chaos, (("fault_kind", "network-delay"), ("verdict", "failed")))] == 1
    assert got[(chaos, (("fault_kind", "packet-loss"), ("verdict", "failed")))] == 1
    assert got[(chaos, (("fault_kind", "(none)"), ("verdict", "refused")))] == 1
    book = (("outcome", "failed"), ("runbook", "ledger-failover"))
    assert got[("controlplane_runbook_runs_total", book)] == 1
    hist = "controlplane_runbook_run_duration_seconds"
    assert got[(hist + "_bucket", (("le", "30.0"), ("runbook", "ledger-failover")))] == 1
    assert got[(hist + "_bucket", (("le", "+Inf"), ("runbook", "ledger-failover")))] == 2
    assert got[(hist + "_sum", (("runbook", "ledger-failover"),))] == 420
    alerts = "controlplane_stored_alerts_total"
    assert got[(alerts, (("alertname", "LedgerDown"), ("severity", "critical")))] == 2
    assert got[(alerts, (("alertname", "SlowOrders"), ("severity", "(other)")))] == 1
    assert got[("controlplane_evidence_up", ())] == 1
    # subjects: drill:ledger-failover earns 1, drill:ledger-hang 0, chaos:network-delay
    # (latest: run-2, both faults reverted, nothing measured) 1/3; all minutes old
    assert got[("controlplane_resilience_subjects", ())] == 3
    assert 44.0 < got[("controlplane_resilience_score", ())] < 44.5


def test_alert_names_past_the_intakes_limit_get_no_series(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Store(tmp_path / "cp.db", clock=clock) as store:
        seed(store, clock)
        got = scrape(store, clock, max_names=1)
    names = {dict(k[1]).get("alertname") for k in got if k[0] ==
             "controlplane_stored_alerts_total"}
    assert names == {"LedgerDown"}


def test_old_evidence_decays_in_the_score(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Store(tmp_path / "cp.db", clock=clock) as store:
        _drill(store, clock, "ledger-failover", {"rto_s": 10.0, "rpo_orders": 0},
               reverted=True)
        clock.now += 30 * DAY_S - 60
        assert abs(scrape(store, clock)[("controlplane_resilience_score", ())] - 75.0) < 0.01


def test_no_store_and_a_broken_store_are_evidence_up_0(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    assert scrape(None, clock) == {("controlplane_evidence_up", ()): 0}
    store = Store(tmp_path / "cp.db", clock=clock)
    store.close()                      # every query now raises sqlite3.ProgrammingError
    assert scrape(store, clock) == {("controlplane_evidence_up", ()): 0}


def test_the_service_serves_them_and_a_restart_loses_nothing(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Store(tmp_path / "controlplane.db", clock=clock) as store:
        seed(store, clock)
    for _ in range(2):                                  # the second run is the restart
        with serving(ServerSettings(port=0, state_dir=tmp_path), clock) as server:
            status, _, body = server.request("/metrics")
            assert status == 200
            text = body.decode()
            assert 'controlplane_drill_last_rto_seconds{drill_kind="ledger-failover"} 12.5' in text
            assert "controlplane_evidence_up 1.0" in text


def test_alerts_that_arrive_between_scrapes_are_counted_at_the_next(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Store(tmp_path / "cp.db", clock=clock) as store:
        registry = CollectorRegistry()
        registry.register(EvidenceCollector(lambda: store, clock))
        labels = {"alertname": "LedgerDown", "severity": "critical"}
        store.receive_alerts([_alert("LedgerDown", "critical", "a")], clock.now)
        assert registry.get_sample_value("controlplane_stored_alerts_total", labels) == 1
        store.receive_alerts([_alert("LedgerDown", "critical", "b")], clock.now)
        store.receive_alerts([_alert("LedgerDown", "critical", "b")], clock.now)  # a resend
        assert registry.get_sample_value("controlplane_stored_alerts_total", labels) == 2


def test_no_label_clashes_with_a_label_prometheus_gives_every_target(tmp_path: Path) -> None:
    """The local cluster's scrape config labels each target job, instance, instance_id, kind
    and tier (observe/scrape_config.py); a metric label of the same name would be renamed
    exported_<name> on ingestion, and the dashboards' legends would show the target's."""
    clock = FakeClock(NOW)
    with Store(tmp_path / "cp.db", clock=clock) as store:
        seed(store, clock)
        labels = {name for key in scrape(store, clock) for name, _ in key[1]}
    assert labels and not labels & {"job", "instance", "instance_id", "kind", "tier"}
