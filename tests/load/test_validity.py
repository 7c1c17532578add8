"""When a run is invalid: an overloaded generator, a missing worker, target never reached."""

from __future__ import annotations

from controlplane.load.gates import Validity
from controlplane.load.placement import WorkerStatus
from controlplane.load.validity import ValidityWatch


def tick(elapsed: float, workers: list[dict[str, object]], engine_cpu: float = 5.0,
         state: str = "running") -> dict[str, object]:
    return {"elapsed": elapsed, "workers": workers, "engine": {"cpu": engine_cpu},
            "state": state}


def test_cpu_above_the_threshold_over_the_window_is_invalid() -> None:
    watch = ValidityWatch(Validity(max_worker_cpu_pct=90, cpu_window_s=3), expected_workers=2)
    for t in range(6):
        watch.observe_tick(tick(t, [{"id": "w1", "cpu": 50.0, "state": "running"},
                                    {"id": "w2", "cpu": 99.0 if t >= 2 else 20.0,
                                     "state": "running"}]))
    assert len(watch.reasons) == 1 and "w2" in watch.reasons[0]
    assert watch.peak_cpu["w2"] == 99.0


def test_a_single_spike_is_not_enough() -> None:
    watch = ValidityWatch(Validity(max_worker_cpu_pct=90, cpu_window_s=5), expected_workers=0)
    for t, cpu in enumerate([10, 100, 10, 10, 10]):
        watch.observe_tick(tick(t, [], engine_cpu=cpu))
    assert watch.reasons == []


def test_local_mode_watches_the_engine() -> None:
    watch = ValidityWatch(Validity(max_worker_cpu_pct=50, cpu_window_s=2), expected_workers=0)
    for t in range(4):
        watch.observe_tick(tick(t, [], engine_cpu=80))
    assert "engine" in watch.reasons[0]


def test_missing_and_exited_workers() -> None:
    watch = ValidityWatch(Validity(), expected_workers=2)
    watch.observe_tick(tick(3, [{"id": "w1", "cpu": 1, "state": "missing"},
                                {"id": "w2", "cpu": 1, "state": "running"}]))
    watch.observe_tick(tick(4, [{"id": "w2", "cpu": 1, "state": "running"}]))
    watch.observe_pool([WorkerStatus("worker-0", False, -9, "pid 1")], stopping=False)
    watch.observe_pool([WorkerStatus("worker-1", False, 0, "pid 2")], stopping=True)
    text = "\n".join(watch.reasons)
    assert "w1 went missing" in text
    assert "only 1 of 2 workers" in text
    assert "worker-0 (pid 1) exited during the run with code -9" in text
    assert "worker-1" not in text             # exiting while the run stops is normal


def test_target_never_reached() -> None:
    watch = ValidityWatch(Validity(min_target_fraction=1.0), expected_workers=0)
    watch.observe_end(max_users=40, target_users=50, allow_short=False)
    assert watch.reasons == ["the target of 50 users was never reached (at most 40)"]
    other = ValidityWatch(Validity(), expected_workers=0)
    other.observe_end(max_users=40, target_users=50, allow_short=True)
    assert other.reasons == []
