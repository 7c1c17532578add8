"""The chaos use cases: run experiments, halt, resume, recover, and read the runs and status.

The doors (`controlplane chaos ...`, the service's /api/v1/chaos routes) call these and render
what comes back; they share one workspace's store, which is also the signal path between a run
started in one process and a halt asked for in another.

Halt, step by step: record the halt in the store (from then on the guardrails refuse new runs,
and every running run's guard sees the flag within `HALT_POLL_S`), send SIGUSR1 to each
running run's recorded pid on this host (its chaoslib stops the method and plays the rollbacks,
which revert its faults), wait up to `wait_s` for those runs' faults to be closed in the store
(not for the runners to exit: what matters is the faults), then revert whatever is still open
itself, and finally look at the cluster once more for every fault it saw, so the outcome's
evidence is the halt's own observation, not only the runners' word.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from controlplane.application.events import Event, EventSink, discard
from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.chaos.experiments import (
    EXPERIMENTS_DIR,
    Experiment,
    load_any_experiment,
    load_experiment,
    select,
    unknown_runbook,
)
from controlplane.chaos.faults import FAULTS, FaultKind
from controlplane.chaos.guardrails import Policy
from controlplane.chaos.outcome import RunOutcome
from controlplane.chaos.reaper import ReapReport, process_is, reap, sweep
from controlplane.chaos.steady_state_guard import HALT_POLL_S
from controlplane.chaos.suite import SuiteResult, run_suite
from controlplane.errors import InvalidInput, quote
from controlplane.platform.base import Platform
from controlplane.store import Store, iso
from controlplane.store.chaos import CHAOS_FINAL_STATES, ChaosEvent, ChaosRun, HaltState
from controlplane.store.models import Fault
from controlplane.topology import Topology
from controlplane.workspace import Workspace

__all__ = ["DEFAULT_WAIT_S", "HALT_POLL_S", "MAX_WAIT_S", "RUN_STATES", "ChaosStatus",
           "FaultAfterHalt", "HaltOutcome", "RunDetail", "SignalledRun", "Validation",
           "catalogue", "check_halt", "experiment_dict", "fault_dict", "fault_engine",
           "fault_kinds", "halt", "late_halts_ignored", "recover", "resume", "run_detail",
           "run_experiments", "runs", "select_experiments", "status", "status_of",
           "validate_experiments", "with_rate"]

log = logging.getLogger(__name__)
SOURCE = "chaos"
DEFAULT_WAIT_S = 1.0      # then the halt reverts for the runners: its faults go within 2 s
MAX_WAIT_S = 120.0
HALT_WHY = "chaos halt"   # kept with the halt's own reverts: tells them from the runners'
MAX_REASON = 500
MAX_LIMIT = 1000
RUN_STATES = ("running", *CHAOS_FINAL_STATES)
_POLL_S = 0.05
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


# the catalogue and validation --------------------------------------------------------------
@dataclass(frozen=True)
class Validation:
    """Every file a validation looked at: those valid, and each invalid one with its error."""

    paths: list[Path]
    invalid: dict[Path, InvalidInput]
    topology: str | None            # the topology's name the names were checked against
    # a user's file (outside the catalogue) is not refused for them: a runbook tag naming no
    # runbook, and how to fix it
    warnings: dict[Path, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.invalid

    def summary(self) -> str:
        if self.invalid:
            return f"{len(self.invalid)} of {len(self.paths)} experiments invalid"
        return f"{len(self.paths)} experiments valid"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": len(self.paths), "invalid": len(self.invalid),
                "topology": self.topology, "summary": self.summary(),
                "warnings": [{"path": str(p), "warning": w} for p, w in self.warnings.items()],
                "experiments": [_validated(p, self.invalid.get(p)) for p in self.paths]}


def _validated(path: Path, err: InvalidInput | None) -> dict[str, Any]:
    if err is None:
        return {"path": str(path), "valid": True, "error": None}
    return {"path": str(path), "valid": False, "error": {
        "message": err.message, "field": err.field or None, "fix": err.fix or None,
        "value": None if err.value is None else quote(err.value), "text": str(err)}}


def validate_experiments(targets: Sequence[str], topology: Topology | None = None
                         ) -> Validation:
    """Validate every file `targets` name (files, directories, tag selectors; the catalogue
    when empty), going on past bad ones; with `topology`, the names their faults and probes
    use must exist there. A target naming nothing raises `InvalidInput` at once."""
    paths = list(dict.fromkeys(p for t in (targets or (str(EXPERIMENTS_DIR),))
                               for p in select(t)))
    invalid: dict[Path, InvalidInput] = {}
    warnings: dict[Path, str] = {}
    for path in paths:
        try:
            exp, _ = load_any_experiment(path, topology)
        except InvalidInput as err:
            invalid[path] = err
            continue
        fix = unknown_runbook(exp)
        if fix is not None:
            warnings[path] = (f"{path}: tags: names no runbook in runbooks/ (got "
                              f"'runbook:{exp.tag('runbook')}'). {fix}")
    return Validation(paths, invalid, topology.name if topology else None, warnings)


def select_experiments(target: str) -> list[Path]:
    """The experiment files `target` names (a file, a directory, a tag selector, a suite),
    each validated: a bad file is refused before anything acts."""
    checked = validate_experiments([target])
    _refuse_invalid(checked, f"`controlplane chaos validate {target}` lists them all")
    return checked.paths


def _refuse_invalid(checked: Validation, how: str) -> None:
    """The first invalid file's error, saying how many others are invalid too and `how` to
    see them all."""
    if checked.ok:
        return
    first, *others = checked.invalid.values()
    if not others:
        raise first
    raise type(first)(first.message, source=first.source, field=first.field,
                      value=first.value, fix=(f"{first.fix}. " if first.fix else "")
                      + f"{checked.summary()}: {how}")


def catalogue(selector: str | None = None) -> list[Experiment]:
    """The experiments `selector` names (the whole catalogue without one), loaded."""
    return [load_experiment(p) for p in select(selector or str(EXPERIMENTS_DIR))]


def experiment_dict(exp: Experiment) -> dict[str, Any]:
    """An experiment as `chaos list --json` shows it; `id` is its path in the catalogue."""
    path = exp.path.resolve()
    ident = path.relative_to(EXPERIMENTS_DIR) if path.is_relative_to(EXPERIMENTS_DIR) else None
    return {"id": str(ident or exp.path), "path": str(exp.path), "title": exp.title,
            **{k: exp.tag(k) for k in ("fault", "component", "severity", "runbook")},
            "tags": exp.tags}


def fault_kinds() -> list[FaultKind]:
    """The fault kinds, by category then name."""
    return sorted(FAULTS.values(), key=lambda k: (k.category, k.name))


# running experiments ---------------------------------------------------------------------
def with_rate(policy: Policy, rate: float | None) -> Policy:
    """`policy` with the meter's orders/s overridden when `rate` is given."""
    if rate is None:
        return policy
    return policy.model_copy(update={"load": policy.load.model_copy(update={"rate": rate})})


def run_experiments(platform: Platform, policy: Policy, paths: list[Path],
                    report_dir: Path | None = None, sink: EventSink = discard) -> SuiteResult:
    """Run `paths` in a row under the guardrails; each run's progress as `Event`s whose
    `record` is the run id. The result carries the suite id and every run's outcome."""
    platform.info()                                     # no cluster: refused before a record
    checked = validate_experiments([str(p) for p in paths], platform.topology())
    _refuse_invalid(checked, "`controlplane chaos validate` with this cluster's topology "
                    "(--topology) lists them all")    # the names they use, on this cluster

    def progress(kind: str, out: RunOutcome, message: str) -> None:
        sink(Event(SOURCE, kind, message, record=out.run_id,
                   data={"title": out.title, "state": out.state, "reason": out.reason,
                         "experiment": out.experiment}))
    with late_halts_ignored():
        return run_suite(platform, policy, paths, report_dir=report_dir, progress=progress)


def fault_engine(platform: Platform) -> FaultEngine:
    """An engine on the platform's store; the caller closes `engine.ctx.store`."""
    return FaultEngine(FaultContext(platform, platform.workspace.store_path))


@contextlib.contextmanager
def late_halts_ignored() -> Iterator[None]:
    """A halt's SIGUSR1 outside chaoslib (before a run's method, between runs, after its
    rollbacks) would kill the process by default, its verdict unrecorded; chaoslib installs
    its own handler for the length of each run. The halt flag in the store refuses what
    follows. Only the main thread may set a handler: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGUSR1, lambda *_: log.info("halt signal outside a run"))
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, previous)


# halt ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignalledRun:
    run_id: str
    pid: int | None
    signalled: bool
    note: str


@dataclass(frozen=True)
class FaultAfterHalt:
    """A fault the halt found open, and what became of it."""

    fault_id: int
    kind: str
    target: str
    run_id: str | None
    reverted_by: str            # "runner" (its rollback or guard), "reaper" or "halt"
    state: str                  # the record's state once the halt ends
    reverted_at: float | None
    verified: bool              # the halt's own observation: the effect is gone
    observed: str


@dataclass(frozen=True)
class HaltOutcome:
    reason: str
    requested_at: float
    runs: list[SignalledRun]
    faults: list[FaultAfterHalt]
    still_open: list[int]
    seconds: float              # from the request to every fault closed and observed gone

    @property
    def ok(self) -> bool:
        return not self.still_open and all(f.verified for f in self.faults)

    @property
    def reverted_here(self) -> list[FaultAfterHalt]:
        return [f for f in self.faults if f.reverted_by == "halt"]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "requested_at_iso": iso(self.requested_at)}


def halt(platform: Platform, reason: str = "manual halt", wait_s: float = DEFAULT_WAIT_S,
         sink: EventSink = discard) -> HaltOutcome:
    """Stop every running experiment and revert its faults; new ones are refused until
    `resume`. Waits at most `wait_s` for the runners to revert their own faults, then
    reverts the rest itself; every fault it saw open is observed gone before it returns."""
    reason, wait_s = check_halt(reason, wait_s)
    started, requested_at = time.monotonic(), time.time()
    engine = FaultEngine(FaultContext(platform, platform.workspace.store_path))
    try:
        signalled, faults = _halt_with(engine, reason, started + wait_s, sink)
        still_open = [f.id for f in engine.ctx.store.open_faults()]
    finally:
        engine.ctx.store.close()
    outcome = HaltOutcome(reason, requested_at, signalled, faults, still_open,
                          time.monotonic() - started)
    sink(Event(SOURCE, "halt_done", f"{sum(r.signalled for r in signalled)} runs signalled, "
               f"{len(faults)} faults reverted in {outcome.seconds:.2f} s",
               data={"ok": outcome.ok, "seconds": outcome.seconds}))
    return outcome


def _halt_with(engine: FaultEngine, reason: str, deadline: float, sink: EventSink
               ) -> tuple[list[SignalledRun], list[FaultAfterHalt]]:
    store = engine.ctx.store
    store.set_halt(True, reason)
    sink(Event(SOURCE, "halted", f"chaos halted: {reason}", data={"reason": reason}))
    running = store.chaos_runs(state="running")
    # read before signalling: a runner may revert its fault the instant it is signalled, and
    # the halt's answer must still list that fault (reverted by the runner)
    seen = {f.id: f for f in store.open_faults()}
    signalled = [_signal(run, sink) for run in running]
    reached = {r.run_id for r in signalled if r.signalled}
    _await_runners(store, {r.run_id: r for r in running if r.run_id in reached}, deadline)
    for fault in reversed(store.open_faults()):     # what the runners left, newest first
        seen.setdefault(fault.id, fault)
        engine.revert(fault.id, why=HALT_WHY)
    sweep(engine)                                   # the platform's objects of no open fault
    faults = [_after(engine, seen[i]) for i in sorted(seen)]
    for fault in faults:
        sink(Event(SOURCE, "fault_reverted", f"fault #{fault.fault_id} {fault.kind} on "
                   f"{fault.target} ({fault.reverted_by}): {fault.observed}",
                   record=fault.run_id or "", data=asdict(fault)))
    return signalled, faults


def check_halt(reason: object, wait_s: object) -> tuple[str, float]:
    """A halt's reason and wait, checked (InvalidInput naming the field): a door may check
    them before it starts the halt."""
    return _halt_reason(reason), _halt_wait(wait_s)


def _halt_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("must be a non-empty string", field="reason", value=reason)
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"must be at most {MAX_REASON} characters", field="reason",
                           value=reason)
    return reason.strip()


def _halt_wait(wait_s: object) -> float:
    if isinstance(wait_s, bool) or not isinstance(wait_s, int | float) or not (
            0 <= wait_s <= MAX_WAIT_S):             # also refuses NaN; a huge int never floats
        raise InvalidInput(f"must be a number of seconds from 0 to {MAX_WAIT_S:g}",
                           field="wait_s", value=wait_s)
    return float(wait_s)


def _signal(run: ChaosRun, sink: EventSink) -> SignalledRun:
    """SIGUSR1 to the run's runner if it is alive on this host (and is not this process)."""
    if run.pid is None or run.pid == os.getpid() or not process_is(run.pid, run.started_at):
        note = "no runner of it alive on this host: its guard reads the halt flag"
        return SignalledRun(run.run_id, run.pid, False, note)
    try:
        os.kill(run.pid, signal.SIGUSR1)
    except OSError as err:                      # gone meanwhile, or another user's
        note = f"could not signal it ({type(err).__name__}): its guard reads the halt flag"
        return SignalledRun(run.run_id, run.pid, False, note)
    sink(Event(SOURCE, "signalled", f"run {run.run_id}: SIGUSR1 to pid {run.pid}",
               record=run.run_id, data={"pid": run.pid}))
    return SignalledRun(run.run_id, run.pid, True, "SIGUSR1 sent")


def _await_runners(store: Store, signalled: dict[str, ChaosRun], deadline: float) -> None:
    """Until no open fault is left that a live runner may still revert: those of the runs
    signalled while their runner lives, and those whose owner runs on another host (its guard
    sees the flag)."""
    host = socket.gethostname()

    def awaited(fault: Fault) -> bool:
        run = signalled.get(fault.run_id or "")
        if run is not None:
            return process_is(run.pid or 0, run.started_at)
        return fault.owner_host not in (None, host)
    while time.monotonic() < deadline and any(map(awaited, store.open_faults())):
        time.sleep(_POLL_S)


def _after(engine: FaultEngine, before: Fault) -> FaultAfterHalt:
    """What became of a fault the halt saw open: who closed it, and one look at the cluster."""
    now = engine.ctx.store.get_fault(before.id) or before
    why = (now.revert_detail or {}).get("why")
    closer = "halt" if why == HALT_WHY else "reaper" if why else "runner"
    seen = engine.observe_reverted(before.id)
    verified = now.state == "reverted" and seen.ok
    observed = seen.observed if now.state == "reverted" else f"{now.state}: {now.error}"
    return FaultAfterHalt(before.id, before.kind, before.target, before.run_id, closer,
                          now.state, now.reverted_at, verified, observed)


# resume, recover, status -------------------------------------------------------------------
def resume(workspace: Workspace, sink: EventSink = discard) -> HaltState:
    """Allow experiments again after a halt."""
    with workspace.store() as store:
        state = store.set_halt(False, None)
    sink(Event(SOURCE, "resumed", "chaos resumed: experiments may run"))
    return state


def recover(platform: Platform, sink: EventSink = discard) -> ReapReport:
    """Revert every fault left open by a crashed run and mark the run aborted (the same pass
    as the supervisor's reaper, plus faults whose owner cannot be judged)."""
    engine = FaultEngine(FaultContext(platform, platform.workspace.store_path))
    report = reap(engine, orphans=True)
    for fault_id, evidence in report.reverted.items():
        sink(Event(SOURCE, "fault_reverted", f"fault #{fault_id}: {evidence.observed}",
                   data={"fault_id": fault_id, "verified": evidence.ok}))
    for what in report.swept:
        sink(Event(SOURCE, "swept", f"deleted {what}: its fault expired or is no longer open",
                   data={"what": what}))
    return report


@dataclass(frozen=True)
class ChaosStatus:
    halt: HaltState
    running: list[ChaosRun]
    open_faults: list[Fault]

    def to_dict(self) -> dict[str, Any]:
        return {"halted": self.halt.halted, "halt_reason": self.halt.reason,
                "running": [{"run_id": r.run_id, "title": r.title, "pid": r.pid}
                            for r in self.running],
                "open_faults": [fault_dict(f) for f in self.open_faults]}


def fault_dict(f: Fault) -> dict[str, Any]:
    return {"id": f.id, "kind": f.kind, "target": f.target, "state": f.state,
            "run_id": f.run_id, "expires_at": iso(f.expires_at),
            "owner": f"{f.owner_pid}@{f.owner_host}" if f.owner_pid else None}


def status(workspace: Workspace) -> ChaosStatus:
    """Halt state, running experiments and open faults; all empty before anything ran."""
    if not workspace.store_path.exists():               # a fresh checkout: nothing yet
        return ChaosStatus(HaltState(False, None, None), [], [])
    with workspace.store() as store:
        return status_of(store)


def status_of(store: Store) -> ChaosStatus:
    return ChaosStatus(store.halt_state(), store.chaos_runs(state="running"),
                       store.open_faults())


# the records -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunDetail:
    run: ChaosRun
    events: list[ChaosEvent]
    faults: list[Fault]


def runs(store: Store, limit: int = 50, state: str | None = None) -> list[ChaosRun]:
    """The latest chaos runs, newest first; only those in `state` if given."""
    if state is not None and state not in RUN_STATES:
        raise InvalidInput("must be one of " + ", ".join(RUN_STATES), field="state",
                           value=state)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"must be an integer from 1 to {MAX_LIMIT}", field="limit",
                           value=limit)
    return store.chaos_runs(state=state, limit=limit)


def run_detail(store: Store, run_id: str) -> RunDetail | None:
    """One run with its timeline and faults; None when no run has this id."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InvalidInput("must be a run id: letters, digits, '.', '_', ':' or '-', up to "
                           "128 characters", field="run_id", value=run_id)
    run = store.get_chaos_run(run_id)
    if run is None:
        return None
    return RunDetail(run, store.chaos_events(run_id), store.faults_of_run(run_id))
