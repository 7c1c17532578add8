"""Faults outlive their runner no longer (issue 14.3): every fault is recorded, before it is
injected, with an expiry and its owner, and the reaper (run by the supervisor) reverts it once
it expired or its runner died, and marks the run aborted. No cluster: the instances are real
`sleep` processes paused through the real process-pause fault, and the network fault adds real
nftables rules to a table of the test's own."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.chaos.engine import (
    EXPIRY_MARGIN_S,
    ONE_SHOT_TTL_S,
    FaultContext,
    FaultEngine,
    ttl_of,
)
from controlplane.chaos.faults import FAULTS
from controlplane.chaos.reaper import process_is, reap, reap_forever
from controlplane.host.procs import proc_state, started_at
from controlplane.store import Store
from controlplane.workspace import Workspace
from tests.support.fake_platform import ProcessPlatform
from tests.support.local import Nft
from tests.support.net import wait_for
from tests.support.signal_runner import sleeping_instance

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[int]:
    with sleeping_instance(tmp_path) as pid:
        yield pid


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "controlplane.db"


@pytest.fixture
def engine(db: Path, sleeper: int) -> FaultEngine:
    return FaultEngine(FaultContext(ProcessPlatform({"gateway-0": sleeper}), db))  # type: ignore[arg-type]


def _pause(engine: FaultEngine, run_id: str = "run-1", duration_s: float = 5):
    return engine.inject("process-pause", "gateway-0", {"duration_s": duration_s},
                         run_id=run_id)


ONE_SHOT = {"process-kill", "process-terminate"}     # over at once: nothing lasts to expire


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_every_fault_kind_has_an_expiry_that_bounds_it_without_cutting_it_short(
        name: str) -> None:
    """A lasting kind must say how long it lasts (duration_s), or the reaper would give it
    only the one-shot ttl; its expiry comes after its duration, and not long after."""
    params = FAULTS[name].params.model_construct()         # the kind's defaults
    ttl = ttl_of(params)
    assert math.isfinite(ttl) and ttl > 0
    if name in ONE_SHOT:
        assert not hasattr(params, "duration_s") and ttl == ONE_SHOT_TTL_S
    else:
        for duration in (params.duration_s, 1.0, 3600.0):
            lasting = ttl_of(params.model_copy(update={"duration_s": duration}))
            assert duration + 30 <= lasting <= duration + 60


def test_the_expiry_and_owner_are_committed_before_the_fault_is_injected(
        engine: FaultEngine, db: Path, sleeper: int) -> None:
    seen = []

    def look(instance: str) -> None:
        with Store(db) as other:                 # what the reaper would read at that moment
            seen.append((proc_state(sleeper), other.open_faults()))
    engine.ctx.platform.on_pause = look
    fault = _pause(engine, duration_s=7)
    (state, (record,)), = seen
    assert state != "T" and record.state == "pending"
    assert record.expires_at == pytest.approx(record.recorded_at + 7 + EXPIRY_MARGIN_S)
    assert (record.owner_pid, record.owner_host) == (os.getpid(), socket.gethostname())
    assert engine.revert(fault.id).ok


def test_the_reaper_leaves_a_live_runners_unexpired_fault_alone(engine: FaultEngine,
                                                                sleeper: int) -> None:
    store = engine.ctx.store
    store.start_chaos_run("run-1", "x.json", "x", [], pid=os.getpid())
    fault = _pause(engine)
    record = store.get_fault(fault.id)
    assert not reap(engine, now=record.expires_at - 0.5)
    assert proc_state(sleeper) == "T"
    assert store.get_fault(fault.id).state == "injected"
    assert store.get_chaos_run("run-1").state == "running"
    assert engine.revert(fault.id).ok and proc_state(sleeper) != "T"


def test_the_reaper_reverts_an_expired_fault_once_and_verifies_it(engine: FaultEngine,
                                                                  sleeper: int) -> None:
    store = engine.ctx.store
    store.start_chaos_run("run-1", "x.json", "x", [], pid=os.getpid())
    fault = _pause(engine)
    assert proc_state(sleeper) == "T"
    expires_at = store.get_fault(fault.id).expires_at
    report = reap(engine, now=expires_at + 0.1)
    assert list(report.reverted) == [fault.id] and report.reverted[fault.id].ok
    assert report.why[fault.id].startswith("expired at ")
    assert proc_state(sleeper) not in ("T", "")
    record = store.get_fault(fault.id)
    assert record.state == "reverted" and record.revert_detail["why"].startswith("expired")
    # the runner is alive: it finishes its run itself; the run's timeline says what happened
    assert store.get_chaos_run("run-1").state == "running"
    assert [e.kind for e in store.chaos_events("run-1")] == ["fault_reaped"]
    assert not reap(engine, now=expires_at + 60)                       # idempotent
    assert engine.ctx.platform.calls.count(("thaw", "gateway-0")) == 1
    assert engine.revert_run("run-1") == {}        # the late runner's rollback finds it done


def _dying_runner(tmp_path: Path, db: Path, *args: str) -> tuple[subprocess.Popen, int]:
    runner = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_platform", "--db", str(db), *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    line = runner.stdout.readline()
    if not line.strip().isdigit():
        runner.kill()
        _, err = runner.communicate(timeout=10)
        pytest.fail(f"the runner did not inject: {line!r} {err}")
    return runner, int(line)


def _kill(runner: subprocess.Popen) -> None:
    runner.kill()
    runner.communicate(timeout=10)


def test_a_sigstop_whose_runner_was_killed_is_resumed_and_the_run_aborted_at_once(
        tmp_path: Path, db: Path, engine: FaultEngine, sleeper: int) -> None:
    runner, fault_id = _dying_runner(
        tmp_path, db, "--instance", f"gateway-0={sleeper}", "--kind", "process-pause",
        "--target", "gateway-0", "--params", json.dumps({"duration_s": 600}), "--run-id", "r9")
    try:
        assert proc_state(sleeper) == "T"
        assert not reap(engine)                     # its runner lives: not before its expiry
    finally:
        _kill(runner)
    time.sleep(0.5)
    assert proc_state(sleeper) == "T"               # nothing else undoes it: the reaper must
    store = engine.ctx.store
    report = reap(engine)                           # 650 s before its expiry
    assert list(report.aborted) == ["r9"] and f"pid {runner.pid}" in report.aborted["r9"]
    assert list(report.reverted) == [fault_id] and report.reverted[fault_id].ok
    assert report.why[fault_id] == (f"its runner (pid {runner.pid} on {socket.gethostname()})"
                                    " is gone")
    assert proc_state(sleeper) not in ("T", "")
    run = store.get_chaos_run("r9")
    assert run.state == "aborted" and "died mid-run" in run.reason
    assert store.get_fault(fault_id).state == "reverted"
    assert not reap(engine)                         # idempotent


def test_a_network_partition_whose_runner_was_killed_is_removed_from_nftables(
        tmp_path: Path, db: Path, sleeper: int) -> None:
    """The runner here is a plain Chaos Toolkit run: no chaos run row, only the fault's owner
    tells that it died."""
    if os.geteuid() != 0 or shutil.which("nft", path=os.environ.get("PATH", "") +
                                         ":/usr/sbin:/sbin") is None:
        pytest.skip("needs root and nft")
    table = f"cptest_reaper_{os.getpid()}"
    nft = Nft(table)
    pids = {"gateway-0": sleeper, "matcher-0": sleeper}
    engine = FaultEngine(FaultContext(ProcessPlatform(pids, table), db))  # type: ignore[arg-type]
    try:
        runner, fault_id = _dying_runner(
            tmp_path, db, "--instance", f"gateway-0={sleeper}", "--instance",
            f"matcher-0={sleeper}", "--nft-table", table, "--kind", "network-partition",
            "--target", "gateway-0",
            "--params", json.dumps({"duration_s": 600, "peer": "matcher"}), "--run-id", "n1",
            "--no-run-record")
        _kill(runner)
        assert len(nft.rules(f"fault-{fault_id}")) == 2       # still in force after the crash
        report = reap(engine)
        assert report.reverted[fault_id].ok and "is gone" in report.why[fault_id]
        assert nft.rules(f"fault-{fault_id}") == []
        assert engine.ctx.store.get_fault(fault_id).state == "reverted"
    finally:
        nft.drop()
    assert subprocess.run(["nft", "list", "table", "inet", table],
                          capture_output=True).returncode != 0


def test_a_revert_that_races_another_is_not_an_error(engine: FaultEngine, db: Path) -> None:
    fault = _pause(engine)
    platform = engine.ctx.platform
    resume = platform.thaw

    def the_runner_got_there_first(instance: str) -> None:
        resume(instance)
        with Store(db) as other:
            other.mark_fault_reverted(fault.id, time.time(), {"by": "the runner"})
    platform.thaw = the_runner_got_there_first
    evidence = engine.revert(fault.id, why="expired")
    assert evidence.ok and evidence.observed == "already reverted"


def test_recover_also_reverts_faults_recorded_without_an_owner(engine: FaultEngine,
                                                               sleeper: int) -> None:
    """A record from before the expiry migration: the periodic reaper cannot judge it, and
    leaves it; `chaos recover` (orphans=True) reverts it since its run is not running."""
    store = engine.ctx.store
    os.kill(sleeper, signal.SIGSTOP)
    wait_for("the SIGSTOP to take hold", lambda: proc_state(sleeper) == "T", timeout=5)
    old = store.record_fault("process-pause", "gateway-0", {
        "kind": "process-pause", "params": {"duration_s": 5},
        "target": {"component": "gateway", "instances": ["gateway-0"], "kind": "gateway"}},
        run_id="old-run")
    store.mark_fault_injected(old.id, time.time())
    assert not reap(engine)
    assert proc_state(sleeper) == "T"
    report = reap(engine, orphans=True)
    assert report.reverted[old.id].ok and proc_state(sleeper) != "T"


def test_a_pid_reused_after_the_fault_was_recorded_is_not_its_runner() -> None:
    me = os.getpid()
    born = started_at(me)
    assert born is not None and born <= time.time()
    assert process_is(me, since=time.time())
    assert not process_is(me, since=born - 60)        # a process started after the record
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert not process_is(dead.pid, since=time.time())


def test_the_reaper_loop_reverts_an_expired_fault_once_ready(engine: FaultEngine,
                                                             sleeper: int) -> None:
    fault = _pause(engine)
    engine.ctx.clock = lambda: time.time() + 3600       # an hour on: the fault has expired
    ready = [False]

    async def scenario() -> str:
        stop = asyncio.Event()
        loop = asyncio.create_task(reap_forever(lambda: engine, stop, 0.05, lambda: ready[0]))
        await asyncio.sleep(0.3)
        before = proc_state(sleeper)
        ready[0] = True
        for _ in range(100):
            if proc_state(sleeper) != "T":
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(loop, 5)
        return before
    assert asyncio.run(scenario()) == "T"           # not while the supervisor is starting
    assert proc_state(sleeper) not in ("T", "")
    with Store(engine.ctx.store_path) as store:
        assert store.get_fault(fault.id).state == "reverted"


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_chaos_recover_aborts_a_dead_runners_run_and_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with Store(state / "controlplane.db") as store:
        store.start_chaos_run("gone-1", "x.json", "x", [], pid=_dead_pid())
        store.start_chaos_run("live-1", "y.json", "y", [], pid=os.getpid())
    result = subprocess.run([sys.executable, "-m", "controlplane", "chaos", "recover",
                             "--state-dir", str(state)], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "run gone-1: aborted" in result.stdout and "0 faults reverted" in result.stdout
    with Store(state / "controlplane.db") as store:
        assert store.get_chaos_run("gone-1").state == "aborted"
        assert store.get_chaos_run("live-1").state == "running"


def test_a_suites_start_recovers_through_the_same_pass(tmp_path: Path, sleeper: int) -> None:
    """ChaosRunner.recover_orphans (run_suite's first step) is the reaper's pass."""
    from controlplane.chaos.guardrails import Policy
    from controlplane.chaos.runner import ChaosRunner
    platform = ProcessPlatform({"gateway-0": sleeper})
    platform.workspace = Workspace(tmp_path)             # type: ignore[attr-defined]
    runner = ChaosRunner(platform, Policy())             # type: ignore[arg-type]
    runner.store.start_chaos_run("gone-2", "x.json", "x", [], pid=_dead_pid())
    fault = runner.engine.inject("process-pause", "gateway-0", {"duration_s": 5},
                                 run_id="gone-2")
    assert proc_state(sleeper) == "T"
    assert list(runner.recover_orphans()) == [fault.id]
    assert proc_state(sleeper) not in ("T", "")
    assert runner.store.get_chaos_run("gone-2").state == "aborted"


def test_chaos_status_shows_each_open_faults_expiry_and_owner(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with Store(state / "controlplane.db", clock=lambda: 1_800_000_000.0) as store:
        store.record_fault("process-pause", "gateway-0", {}, run_id="r1", ttl_s=55,
                           owner_pid=4242, owner_host="node-a")
    result = subprocess.run([sys.executable, "-m", "controlplane", "chaos", "status", "--json",
                             "--state-dir", str(state)], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    (fault,) = json.loads(result.stdout)["open_faults"]
    assert fault["expires_at"] == "2027-01-15T08:00:55.000Z"
    assert fault["owner"] == "4242@node-a"


def test_a_record_the_engine_cannot_interpret_is_reported_and_left_untouched(
        engine: FaultEngine) -> None:
    """A drill records its own faults in its own format; recover must not crash on one, nor
    close it."""
    store = engine.ctx.store
    drill = store.record_fault("process-pause", "ledger-0", {"action": "start",
                               "instance": "ledger-0", "duration_s": 30}, run_id="drill-1")
    store.mark_fault_injected(drill.id, time.time())
    report = reap(engine, orphans=True)
    assert not report.reverted[drill.id].ok
    assert "does not say how to revert it" in report.reverted[drill.id].observed
    after = store.get_fault(drill.id)
    assert (after.state, after.error) == ("injected", None)


def _ledger(primary: str = "ledger-0"):
    from controlplane.drills.ledger_failover import _Cluster

    return _Cluster("ledger", primary, "ledger-1", "", "", "", {})


def test_the_hang_drills_sigstop_is_enforced_by_the_reaper_too(db: Path, sleeper: int) -> None:
    """The ledger-hang drill SIGSTOPs the primary itself (not through a runner); its record is
    one the engine can revert, with the drill as owner and an expiry past all its waits."""
    from controlplane.drills.ledger_hang import LedgerHangDrill
    from controlplane.drills.model import DrillSettings

    platform = ProcessPlatform({"ledger-0": sleeper})
    engine = FaultEngine(FaultContext(platform, db))  # type: ignore[arg-type]
    store = engine.ctx.store
    drill_id = store.create_drill("ledger-hang", "ledger-0", {}).id
    drill = LedgerHangDrill(platform, store, DrillSettings(hold_s=5))  # type: ignore[arg-type]

    async def inject_only():
        fault, _ = await drill._inject(drill_id, _ledger())
        drill._resumer.cancel()                  # the drill dies before it resumes the node
        return fault
    fault = asyncio.run(inject_only())
    assert proc_state(sleeper) == "T"
    record = store.get_fault(fault.id)
    assert record.owner_pid == os.getpid() and record.run_id == f"drill-{drill_id}"
    assert record.expires_at == pytest.approx(record.recorded_at + 5 + 90 + 3 + 2 * 90
                                              + EXPIRY_MARGIN_S)
    assert not reap(engine, now=record.expires_at - 1)
    report = reap(engine, now=record.expires_at)
    assert report.reverted[fault.id].ok and proc_state(sleeper) not in ("T", "")


def test_a_failover_drill_told_not_to_rejoin_leaves_its_kill_without_an_expiry(
        db: Path) -> None:
    from controlplane.drills.ledger_failover import LedgerFailoverDrill
    from controlplane.drills.model import DrillSettings

    with Store(db) as store:
        drill_id = store.create_drill("ledger-failover", "ledger-0", {}).id
        kept = LedgerFailoverDrill(None, store, DrillSettings(rejoin=False))  # type: ignore[arg-type]
        left = kept._record_fault(drill_id, "process-kill", _ledger(), {})
        rejoined = LedgerFailoverDrill(None, store, DrillSettings())  # type: ignore[arg-type]
        back = rejoined._record_fault(drill_id, "process-kill", _ledger(), {})
    assert (left.expires_at, left.owner_pid) == (None, None)
    assert back.expires_at is not None and back.owner_pid == os.getpid()
