"""The reaper: what enforces every fault's expiry when its runner does not.

The data flow, and who does what:

1. `FaultEngine.inject` (in the runner's process) records the fault and commits it BEFORE
   injecting: what reverting needs, `expires_at` (now + duration_s + `EXPIRY_MARGIN_S`; a
   one-shot kind such as a kill, `ONE_SHOT_TTL_S`), and its owner, the injecting process's
   pid and host.
2. The runner reverts its own faults as before: after `duration_s`, in the rollbacks, on a
   breach of the steady state, on a halt.
3. `reap`, called every `REAP_INTERVAL_S` by the local supervisor daemon (`reap_forever`),
   reverts every open fault whose expiry has passed, whose owner is gone, or whose run's
   runner is gone, through the same `FaultEngine.revert` (which verifies the revert by
   observation and records the evidence), and marks every chaos run still "running" whose
   runner is gone `aborted`, at once, before reverting its faults.

4. Each pass ends with `sweep`: the platform deletes what it keeps in the cluster for faults
   whose expiry passed or that are no longer open (Kubernetes: the labelled objects it made),
   so an object whose record was reverted, or that outlived every record, goes too.

So a SIGKILLed runner's faults are undone within one interval, and a live runner that is stuck
has its faults undone at their expiry; nobody has to run `chaos recover`. `chaos recover`
calls `reap(..., orphans=True)`: it also reverts open faults whose owner it cannot judge
(records made before the expiry migration) unless their run is alive.

On Kubernetes there is no supervisor: the control-plane service runs `reap_forever` for a
platform that says `reaped_by_service` (server/app.py). Why the supervisor runs it locally,
not the control-plane service: the supervisor is the cluster's
parent and runs exactly as long as the cluster does, and no fault targets it. The service is
itself a component of the cluster, which faults pause, stop and crash-loop (a paused service
cannot undo its own pause), and it runs its loops only when given a runbooks directory. If the
supervisor dies, its children get SIGTERM (PR_SET_PDEATHSIG) and `cluster down` drops the
cluster's nftables table, so no fault outlives the cluster either.

The ledger drills record their faults the same way, with the drill's process as owner.

A runner's owner is judged only on its own host; one on another host is left to its expiry.
A pid counts as the owner only if that process started before the fault was recorded (pids are
reused). There is no heartbeat: a dead runner is seen from its pid at once, and a live one that
hangs is bounded by the expiry, which a heartbeat could only shorten.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from controlplane.chaos.engine import FaultEngine, tag_of
from controlplane.chaos.faults.base import Evidence
from controlplane.errors import ControlPlaneError, InvalidInput
from controlplane.host.procs import alive, started_at
from controlplane.store.chaos import ChaosRun
from controlplane.store.models import Fault, iso

__all__ = ["REAP_INTERVAL_S", "ReapReport", "reap", "reap_forever", "sweep"]

log = logging.getLogger("controlplane.reaper")

REAP_INTERVAL_S = 2.0
_START_SLACK_S = 2.0       # /proc's start time is exact to a tick, the boot time to a second


@dataclass
class ReapReport:
    reverted: dict[int, Evidence] = field(default_factory=dict)  # fault id -> evidence
    why: dict[int, str] = field(default_factory=dict)             # fault id -> reason
    aborted: dict[str, str] = field(default_factory=dict)         # run id -> reason
    swept: list[str] = field(default_factory=list)    # platform objects of no open fault

    def __bool__(self) -> bool:
        return bool(self.reverted or self.aborted or self.swept)


def process_is(pid: int, since: float) -> bool:
    """Whether `pid` is a live process that already ran at `since` (not a reuse of the pid)."""
    if not alive(pid):
        return False
    start = started_at(pid)
    return start is None or start <= since + _START_SLACK_S


def _owner_alive(fault: Fault, host: str) -> bool | None:
    """True or False when this host can tell; None when it cannot (no owner, another host)."""
    if fault.owner_pid is None or (fault.owner_host is not None and fault.owner_host != host):
        return None
    return process_is(fault.owner_pid, fault.recorded_at)


def _run_alive(run: ChaosRun, orphans: bool) -> bool | None:
    if run.pid is None:
        return False if orphans else None
    if orphans and run.pid == os.getpid():
        return False           # `chaos recover` or a new suite: our own runs are not running
    return process_is(run.pid, run.started_at)


def reap(engine: FaultEngine, *, now: float | None = None, orphans: bool = False,
         host: str | None = None) -> ReapReport:
    """One pass: abort the runs whose runner is gone, then revert (newest first) every open
    fault that expired, whose owner is gone or whose run was aborted. With `orphans` (for
    `chaos recover`), also every open fault whose owner cannot be judged and whose run is not
    alive. Idempotent: a second pass finds nothing more to do."""
    store = engine.ctx.store
    now = engine.ctx.clock() if now is None else now
    host = host or socket.gethostname()
    report = ReapReport()
    live_runs: set[str] = set()
    for run in store.chaos_runs(state="running"):
        state = _run_alive(run, orphans)
        if state is False:
            reason = (f"the runner (pid {run.pid}) died mid-run; the supervisor's reaper "
                      "reverts its faults" if run.pid else "the runner died mid-run")
            if _abort(store, run.run_id, reason):
                report.aborted[run.run_id] = reason
        elif state:
            live_runs.add(run.run_id)
    dead_runs = set(report.aborted)
    for fault in reversed(store.open_faults()):
        why = _why_due(fault, now, host, dead_runs, live_runs, orphans)
        if why is None:
            continue
        try:
            evidence = engine.revert(fault.id, why=why)
        except Exception as err:     # one bad record must not keep the others in force
            log.exception("fault #%d: revert raised", fault.id)
            evidence = Evidence(False, f"revert raised {err!r}")
        report.reverted[fault.id], report.why[fault.id] = evidence, why
        log.warning("fault #%d (%s on %s, run %s) %s: %s%s", fault.id, fault.kind, fault.target,
                    fault.run_id, why, "reverted, verified: " if evidence.ok
                    else "NOT verified reverted: ", evidence.observed)
        _note(store, fault, why, evidence)
    report.swept = sweep(engine)
    return report


def sweep(engine: FaultEngine) -> list[str]:
    """The platform's own objects for faults (Kubernetes) that expired or whose fault is no
    longer open, deleted (`Platform.sweep`); a failure is logged, never raised."""
    open_tags = {tag_of(f.id) for f in engine.ctx.store.open_faults()}
    try:
        gone = engine.ctx.platform.sweep(open_tags)
    except ControlPlaneError as err:
        log.warning("sweeping the platform's fault objects failed: %s", err)
        return []
    for what in gone:
        log.warning("deleted %s: its fault expired or is no longer open", what)
    return gone


def _why_due(fault: Fault, now: float, host: str, dead_runs: set[str], live_runs: set[str],
             orphans: bool) -> str | None:
    if fault.expires_at is not None and now >= fault.expires_at:
        return f"expired at {iso(fault.expires_at)}"
    owner = _owner_alive(fault, host)
    if owner is False:
        return f"its runner (pid {fault.owner_pid} on {fault.owner_host}) is gone"
    if fault.run_id in dead_runs:
        return f"its run {fault.run_id} was aborted: the runner is gone"
    if orphans and owner is None and fault.run_id not in live_runs:
        return "left by a run that is not running (chaos recover)"
    return None


def _abort(store, run_id: str, reason: str) -> bool:
    try:
        store.finish_chaos_run(run_id, "aborted", reason, {"aborted_by": "reaper"})
    except InvalidInput:             # the runner finished it just now
        return False
    return True


def _note(store, fault: Fault, why: str, evidence: Evidence) -> None:
    """A timeline event on the fault's run, when it is a chaos run."""
    if fault.run_id is None or store.get_chaos_run(fault.run_id) is None:
        return
    store.add_chaos_event(fault.run_id, time.time(), "fault_reaped",
                          {"fault": fault.id, "kind": fault.kind, "why": why,
                           "verified": evidence.ok, "message": evidence.observed})


async def reap_forever(make_engine: Callable[[], FaultEngine], stop: asyncio.Event,
                       interval_s: float = REAP_INTERVAL_S,
                       ready: Callable[[], bool] = lambda: True) -> None:
    """`reap` every `interval_s` until `stop` is set, while `ready()` (the supervisor: once the
    cluster is up, so a revert never starts an instance out of its dependency order), each pass
    in a worker thread (a revert calls the supervisor's own API and waits for its
    verification). Never dies of an error: a pass that fails is logged and the next one runs."""
    engine: FaultEngine | None = None
    while not stop.is_set():
        try:
            if ready():
                engine = engine or await asyncio.to_thread(make_engine)
                await asyncio.to_thread(reap, engine)
        except Exception:
            log.exception("reaper pass failed; trying again in %g s", interval_s)
            engine = None
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
        except TimeoutError:
            pass
