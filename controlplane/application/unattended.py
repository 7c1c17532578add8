"""The unattended GameDay: a selection of the catalogue (or all of it) in one go, resumable.

`start` records the GameDay in the store, one row per experiment (pending), then drives it:
each experiment runs under the guarded runner, a finding (a failed run) does not stop the
GameDay, and each row is updated as its run starts and ends, with the run's fault ids. If the
control plane dies meanwhile (SIGKILL), `resume` (or `start` again with the same targets)
finds the GameDay whose process is gone, reverts the interrupted experiment's faults through
the `chaos recover` pass, records it `interrupted` with its faults' evidence, and goes on at
the next pending row. At the end every fault of the GameDay is looked at once more on the
cluster (`observe_reverted`), and the reports (JSON, JUnit, HTML) list every experiment,
including those run before a crash, rebuilt from the store.

Between experiments the GameDay waits for the next experiment's own steady-state hypothesis
to hold, up to the policy's `cooldown_s`, instead of sleeping `cooldown_s` every time; the
runner's recovery wait after a fault is steady-state driven already. The cluster is started
once, by whoever runs the GameDay: nothing here starts or stops it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controlplane.application import chaos as chaos_usecases
from controlplane.application.events import Event, EventSink, discard
from controlplane.chaos.config import STATE_KEY
from controlplane.chaos.experiments import InvalidExperiment, load_any_experiment
from controlplane.chaos.guardrails import Policy
from controlplane.chaos.journal import journal_path, write_journal
from controlplane.chaos.outcome import FaultEvidence, RunOutcome, outcome_from_summary
from controlplane.chaos.reaper import process_is
from controlplane.chaos.report import write_reports
from controlplane.chaos.runner import ChaosRunner
from controlplane.chaos.steady_state_guard import HypothesisError, evaluate
from controlplane.errors import InvalidInput, Refused
from controlplane.platform.base import Platform
from controlplane.store import Store
from controlplane.store.gamedays import GameDay, GameDayExperiment

__all__ = ["GameDayResult", "find_resumable", "gameday_dict", "is_running", "resume", "start"]

SOURCE = "gameday"
_POLL_S = 0.5


@dataclass(frozen=True)
class GameDayResult:
    gameday: GameDay
    reports: dict[str, Path]
    interrupted: list[int]                # positions found interrupted by this process

    @property
    def ok(self) -> bool:
        return all(e.state == "passed" for e in self.gameday.experiments)

    def to_dict(self) -> dict[str, Any]:
        return gameday_dict(self.gameday) | {
            "ok": self.ok, "reports": {k: str(v) for k, v in self.reports.items()},
            "interrupted_now": self.interrupted}


def gameday_dict(g: GameDay) -> dict[str, Any]:
    """A GameDay as `gameday history --json` and `gameday run --json` print it."""
    counts: dict[str, int] = {}
    for e in g.experiments:
        counts[e.state] = counts.get(e.state, 0) + 1
    return {"id": g.id, "state": g.state, "schedule": g.schedule, "targets": g.targets,
            "policy": g.policy, "started_at": g.started_at, "resumed_at": g.resumed_at,
            "ended_at": g.ended_at, "report_dir": g.report_dir, "counts": counts,
            "all_faults_reverted": all(e.reverted is not False for e in g.experiments),
            "experiments": [{"position": e.position, "experiment": e.experiment,
                             "state": e.state, "run_id": e.run_id, "fault_ids": e.fault_ids,
                             "all_faults_reverted": e.reverted, "reason": e.reason}
                            for e in g.experiments]}


def start(platform: Platform, policy: Policy, policy_file: Path, targets: list[str], *,
          report_dir: Path | None = None, schedule: str | None = None,
          gameday_id: str | None = None, sink: EventSink = discard) -> GameDayResult:
    """Run the experiments `targets` name as one GameDay; the same targets of a GameDay whose
    process died resume it instead of starting another."""
    left = find_resumable(platform, targets, gameday_id)
    if left is not None:
        sink(Event(SOURCE, "resuming", f"GameDay {left.id} was interrupted: resuming it",
                   record=left.id))
        return resume(platform, policy, left.id, sink=sink)
    paths = _checked(platform, targets)
    gameday_id = gameday_id or (f"gameday-{datetime.now(UTC):%Y%m%dT%H%M%S}-"
                                f"{uuid.uuid4().hex[:4]}")
    directory = report_dir or platform.workspace.reports_dir / gameday_id
    with platform.workspace.store() as store:
        _refuse_overlap(store)
        store.start_gameday(gameday_id, targets, str(policy_file),
                            [str(p.resolve()) for p in paths], str(directory), os.getpid(),
                            schedule)
    sink(Event(SOURCE, "started", f"GameDay {gameday_id}: {len(paths)} experiments",
               record=gameday_id, data={"experiments": len(paths)}))
    return _drive(platform, policy, gameday_id, sink)


def resume(platform: Platform, policy: Policy, gameday_id: str | None = None, *,
           sink: EventSink = discard) -> GameDayResult:
    """Go on with an unfinished GameDay whose process is gone (the newest without an id)."""
    with platform.workspace.store() as store:
        gameday = _resumable(store, gameday_id)
        store.take_gameday(gameday.id, os.getpid())
    return _drive(platform, policy, gameday.id, sink)


def find_resumable(platform: Platform, targets: list[str], gameday_id: str | None = None
                   ) -> GameDay | None:
    """The unfinished GameDay of these targets (or this id) whose process is gone, if any."""
    with platform.workspace.store() as store:
        for g in store.gamedays(state="running"):
            if (g.id == gameday_id if gameday_id else g.targets == targets) and \
                    not is_running(g):
                return g
    return None


def _checked(platform: Platform, targets: list[str]) -> list[Path]:
    platform.info()                                 # no cluster: refused before a record
    checked = chaos_usecases.validate_experiments(targets, platform.topology())
    if not checked.ok:
        raise next(iter(checked.invalid.values()))
    return checked.paths


def is_running(g: GameDay) -> bool:
    return g.pid is not None and process_is(g.pid, g.resumed_at or g.started_at)


def _refuse_overlap(store: Store) -> None:
    for g in store.gamedays(state="running"):
        if is_running(g):
            raise Refused(f"GameDay {g.id} is running (pid {g.pid}); GameDays do not "
                          "overlap. Wait for it, or stop it with `controlplane chaos halt`")


def _resumable(store: Store, gameday_id: str | None) -> GameDay:
    found = ([store.get_gameday(gameday_id)] if gameday_id else store.gamedays(state="running"))
    for g in found:
        if g is None:
            break
        if g.state != "running":
            raise InvalidInput(f"GameDay {g.id} is {g.state}", field="gameday_id",
                               value=g.id, fix="Start a new one with `gameday run`")
        if is_running(g):
            raise Refused(f"GameDay {g.id} is still running in pid {g.pid}")
        return g
    raise InvalidInput("no unfinished GameDay to resume", field="gameday_id",
                       value=gameday_id, fix="`controlplane gameday history` lists them")


# driving one GameDay -------------------------------------------------------------------------
def _drive(platform: Platform, policy: Policy, gameday_id: str, sink: EventSink
           ) -> GameDayResult:
    with chaos_usecases.late_halts_ignored(), platform.workspace.store() as store:
        interrupted = _close_interrupted(platform, store, gameday_id, sink)
        runner = ChaosRunner(platform, policy, progress=_progress(store, gameday_id, sink),
                             suite_id=gameday_id)
        last_had_faults = False
        while (row := _pending(store, gameday_id)) is not None:
            if last_had_faults:
                _await_steady(platform, Path(row.experiment), policy, sink)
            out = _run_one(runner, store, gameday_id, row)
            last_had_faults = bool(out.faults)
        return _finish(platform, store, gameday_id, interrupted, sink)


def _pending(store: Store, gameday_id: str) -> GameDayExperiment | None:
    g = store.get_gameday(gameday_id)
    return None if g is None else g.next_pending()


def _progress(store: Store, gameday_id: str, sink: EventSink
              ) -> Callable[[str, RunOutcome, str], None]:
    def progress(kind: str, out: RunOutcome, message: str) -> None:
        if kind == "run_started":
            row = _running_row(store, gameday_id)
            if row is not None:
                store.set_gameday_run(gameday_id, row.position, out.run_id)
        sink(Event(SOURCE, kind, message, record=out.run_id,
                   data={"gameday": gameday_id, "title": out.title, "state": out.state,
                         "reason": out.reason, "experiment": out.experiment}))
    return progress


def _running_row(store: Store, gameday_id: str) -> GameDayExperiment | None:
    g = store.get_gameday(gameday_id)
    return None if g is None else next(
        (e for e in g.experiments if e.state == "running"), None)


def _run_one(runner: ChaosRunner, store: Store, gameday_id: str, row: GameDayExperiment
             ) -> RunOutcome:
    """One experiment; a finding or a failure of the run is recorded and the GameDay goes
    on (the runner has reverted and recorded a run that raised)."""
    store.start_gameday_experiment(gameday_id, row.position)
    path = Path(row.experiment)
    try:
        out = runner.run(path)
    except InvalidExperiment as err:
        now = time.time()
        out = RunOutcome("-", str(path), path.stem, [], "failed",
                         f"invalid experiment: {err}", now, now)
    except Exception as err:                        # noqa: BLE001 - recorded, then go on
        out = _raised(store, gameday_id, row, err)
    _record(store, gameday_id, row.position, out)
    return out


def _raised(store: Store, gameday_id: str, row: GameDayExperiment, err: Exception
            ) -> RunOutcome:
    now = time.time()
    run_id = (_running_row(store, gameday_id) or row).run_id or "-"
    out = RunOutcome(run_id, row.experiment, Path(row.experiment).stem, [], "aborted",
                     f"the run failed: {type(err).__name__}: {err}"[:500], now, now)
    out.faults = _evidence(store, run_id)
    return out


def _record(store: Store, gameday_id: str, position: int, out: RunOutcome) -> None:
    summary = json.loads(json.dumps(out.summary(), default=str))
    store.finish_gameday_experiment(gameday_id, position, out.state, out.reason,
                                    [f.id for f in out.faults], out.all_reverted, summary)
    if out.journal is not None:
        directory = Path(_report_dir(store, gameday_id))
        write_journal(out.journal, journal_path(directory, out.run_id))


def _report_dir(store: Store, gameday_id: str) -> str:
    g = store.get_gameday(gameday_id)
    assert g is not None
    return g.report_dir


def _evidence(store: Store, run_id: str) -> list[FaultEvidence]:
    return [FaultEvidence(f.id, f.kind, f.target,
                          list(f.revert.get("target", {}).get("instances", [])),
                          f.injected_at, f.reverted_at, f.state,
                          dict(f.revert_detail) if f.revert_detail else None, f.error)
            for f in store.faults_of_run(run_id)]


def _await_steady(platform: Platform, path: Path, policy: Policy, sink: EventSink) -> None:
    """Until the next experiment's hypothesis holds, at most the policy's cooldown_s."""
    limit = policy.steady_state.cooldown_s
    if limit <= 0:
        return
    try:
        exp, _ = load_any_experiment(path)
    except InvalidInput:
        return                                      # the run itself records why
    config = {STATE_KEY: str(platform.workspace.root)}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            state = evaluate(exp.data, config, {})
        except HypothesisError:
            return                                  # the run's own check will say so
        if state is None or state["steady_state_met"]:
            return
        sink(Event(SOURCE, "settling", f"waiting for the steady state of {path.name}"))
        time.sleep(_POLL_S)


# after a crash ------------------------------------------------------------------------------
def _close_interrupted(platform: Platform, store: Store, gameday_id: str, sink: EventSink
                       ) -> list[int]:
    """Rows left `running` by a dead process: their faults reverted through the recover pass,
    the row recorded interrupted with the evidence."""
    g = store.get_gameday(gameday_id)
    rows = [e for e in g.experiments if e.state == "running"] if g else []
    if not rows:
        return []
    report = chaos_usecases.recover(platform, sink)
    engine = chaos_usecases.fault_engine(platform)
    try:
        for row in rows:
            run_id = row.run_id or _orphan_run(store, gameday_id, row)
            if run_id:
                engine.revert_run(run_id)           # any the recover pass could not judge
            out = _interrupted_outcome(store, row, run_id, report.aborted.get(run_id or ""))
            _record(store, gameday_id, row.position, out)
            sink(Event(SOURCE, "interrupted", f"{row.experiment}: interrupted; "
                       f"{len(out.faults)} faults, reverted: {out.all_reverted}",
                       record=run_id or "", data={"position": row.position}))
    finally:
        engine.ctx.store.close()
    return [r.position for r in rows]


def _orphan_run(store: Store, gameday_id: str, row: GameDayExperiment) -> str | None:
    """The chaos run a row started but had not yet noted (a crash in between)."""
    known = {e.run_id for e in store.get_gameday(gameday_id).experiments if e.run_id}
    for run in store.chaos_runs(suite_id=gameday_id):
        if run.experiment == row.experiment and run.run_id not in known:
            return run.run_id
    return None


def _interrupted_outcome(store: Store, row: GameDayExperiment, run_id: str | None,
                         aborted_why: str | None) -> RunOutcome:
    run = store.get_chaos_run(run_id) if run_id else None
    now = time.time()
    out = RunOutcome(run_id or "-", row.experiment, run.title if run else
                     Path(row.experiment).stem, run.tags if run else [], "interrupted",
                     "the control plane stopped during this experiment; its faults were "
                     "reverted when the GameDay resumed" + (f" ({aborted_why})"
                                                             if aborted_why else ""),
                     row.started_at or now, now)
    if run_id:
        out.events = [(e.kind, e.at, dict(e.detail)) for e in store.chaos_events(run_id)]
        out.faults = _evidence(store, run_id)
    return out


# the end ------------------------------------------------------------------------------------
def _finish(platform: Platform, store: Store, gameday_id: str, interrupted: list[int],
            sink: EventSink) -> GameDayResult:
    """Look at every fault once more, write the reports, close the GameDay."""
    g = store.get_gameday(gameday_id)
    assert g is not None
    outcomes = [_verified(platform, store, g.id, e) for e in g.experiments]
    reports = write_reports(outcomes, Path(g.report_dir), g.id)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    done = store.finish_gameday(g.id, {"counts": counts, "reports": {
        k: str(v) for k, v in reports.items() if not k.startswith("journal")},
        "all_faults_reverted": all(o.all_reverted for o in outcomes)})
    sink(Event(SOURCE, "finished", f"GameDay {g.id}: " + ", ".join(
        f"{v} {k}" for k, v in sorted(counts.items())), record=g.id, data={"counts": counts}))
    return GameDayResult(done, reports, interrupted)


def _verified(platform: Platform, store: Store, gameday_id: str, row: GameDayExperiment
              ) -> RunOutcome:
    """The row's run, rebuilt from the store, with each fault observed gone on the cluster
    now; the row's `reverted` is that observation."""
    out = outcome_from_summary(row.outcome or {"experiment": row.experiment,
                                               "state": row.state, "reason": row.reason})
    if not row.fault_ids:
        return out
    engine = chaos_usecases.fault_engine(platform)
    try:
        seen = {i: engine.observe_reverted(i) for i in row.fault_ids}
    finally:
        engine.ctx.store.close()
    ok = all(e.ok for e in seen.values()) and out.all_reverted
    if not ok:
        bad = {i: e.observed for i, e in seen.items() if not e.ok}
        out.reason += f"; faults not observed reverted at the end: {bad}"
    out.events.append(("verified_reverted", time.time(), {
        "faults": {str(i): e.observed for i, e in seen.items()}, "ok": ok}))
    store.verify_gameday_experiment(gameday_id, row.position, out.reason, ok,
                                    json.loads(json.dumps(out.summary(), default=str)))
    return out
