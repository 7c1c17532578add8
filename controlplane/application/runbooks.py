"""The runbook use cases: run one now, approve or reject a step, pause and resume automation,
and read runs and their steps.

`run_runbook` writes the run's record first and reports every step as an `Event` carrying the
run's id (`record`), so the CLI prints lines and the service could stream the same events. The
engine executes on a thread of its own with its own store connection, while this thread reads
the steps the engine records: that is also how an approval given elsewhere (another terminal,
the service) reaches a waiting run, through the shared store.

A runbook whose parameters are templates (`{{ labels.NAME }}`) takes those labels from its
alert; run by hand it takes them from the caller (`labels`), and is refused without them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from controlplane.application.events import Event, EventSink, discard
from controlplane.errors import InvalidInput
from controlplane.platform.base import Platform
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import Runbook, resolve, template_labels
from controlplane.store import Store
from controlplane.store.runbooks import Approval, AutomationState, RunbookRun, RunbookStep

__all__ = ["check_manual_labels", "decide", "pause_automation", "resume_automation",
           "run_runbook", "step_event"]

POLL_S = 0.3


@dataclass
class _StepFeed:
    """Turns the steps a run has recorded so far into events, each state change once."""

    run_id: int
    sink: EventSink
    seen: set[tuple[int, str, bool]]

    def drain(self, store: Store) -> None:
        for step in store.runbook_steps(self.run_id):
            key = (step.id, step.state, step.ended_at is not None)
            if key not in self.seen:
                self.seen.add(key)
                self.sink(step_event(self.run_id, step))


def step_event(run_id: int, step: RunbookStep) -> Event:
    """The event of one step's state: `waiting` (for approval), `step` (ended) or `started`."""
    data = {"idx": step.idx, "name": step.name, "kind": step.kind, "action": step.action,
            "state": step.state, "attempt": step.attempt, "actor": step.actor,
            "error": step.error}
    if step.state == "waiting":
        return Event("runbook", "waiting", f"step {step.idx} ({step.name}) waits for approval",
                     record=str(run_id), data=data)
    kind = "step" if step.ended_at else "started"
    return Event("runbook", kind, f"{step.name}: {step.state}", record=str(run_id), data=data)


def check_manual_labels(rb: Runbook, labels: dict[str, str]) -> Runbook:
    """`rb` filled with the labels a manual run gives: exactly those its templates take, each
    value then checked by its action's model. InvalidInput otherwise, before any record."""
    wanted = template_labels(rb)
    unused = sorted(set(labels) - set(wanted))
    if unused:
        raise InvalidInput(f"runbook {rb.name} takes no label {unused[0]!r}", field="--label",
                           value=f"{unused[0]}={labels[unused[0]]}",
                           fix=f"Its templates take: {', '.join(wanted)}" if wanted
                           else "It has no parameter templates; run it without --label")
    missing = [name for name in wanted if name not in labels]
    if missing:
        raise InvalidInput(
            f"runbook {rb.name} takes {', '.join(missing)} from its alert "
            f"({rb.trigger.alert}); a manual run must give "
            f"{'it' if len(missing) == 1 else 'them'}", field="--label",
            fix="Pass " + " ".join(f"--label {name}=VALUE" for name in missing))
    return resolve(rb, labels)


def run_runbook(platform: Platform, rb: Runbook, actor: str, *, dry_run: bool = False,
                sink: EventSink = discard, labels: dict[str, str] | None = None) -> RunbookRun:
    """Start `rb` by hand as `actor` and run it to its end; the finished run (its `id` is the
    record's). `labels` fill its parameter templates. Refused (InvalidInput) when the
    runbook may not start now (locked, paused) or its labels are missing or wrong."""
    check_manual_labels(rb, labels or {})
    path = platform.workspace.store_path
    with Store(path) as store:
        started = RunbookEngine(platform, store).start_manual(rb, actor, dry_run=dry_run,
                                                              labels=labels)
        if started is None or started.state != "running":
            reason = (started.error or started.state) if started else "not started"
            raise InvalidInput(reason, field="NAME", value=rb.name)
        sink(Event("runbook", "recorded", f"run {started.id}: {rb.name}"
                   f"{' (dry run)' if dry_run else ''}", record=str(started.id),
                   data={"run_id": started.id, "runbook": rb.name, "dry_run": dry_run}))
        done = _execute_watched(platform, store, started, rb, sink)
    sink(Event("runbook", "finished", f"run {done.id}: {done.state} {done.error or ''}".strip(),
               record=str(done.id), data={"state": done.state, "error": done.error}))
    return done


def _execute_watched(platform: Platform, store: Store, started: RunbookRun, rb: Runbook,
                     sink: EventSink) -> RunbookRun:
    """Execute on a worker thread (its own store connection) while this one reports steps."""
    result: dict[str, RunbookRun | BaseException] = {}

    def work() -> None:
        try:
            with Store(platform.workspace.store_path) as own:
                result["run"] = RunbookEngine(platform, own).execute(started, rb)
        except BaseException as err:              # reported to the caller below
            result["run"] = err
    worker = threading.Thread(target=work, name=f"runbook-{started.id}", daemon=True)
    worker.start()
    feed = _StepFeed(started.id, sink, set())
    while worker.is_alive():
        feed.drain(store)
        time.sleep(POLL_S)
    feed.drain(store)
    done = result["run"]
    if isinstance(done, BaseException):
        raise done
    return done


def decide(store: Store, run_id: int, idx: int | None, *, reject: bool, actor: str,
           reason: str | None = None) -> Approval:
    """Approve (or reject) step `idx` of a run, by default the step it waits on."""
    run = store.get_runbook_run(run_id)
    if run is None:
        raise InvalidInput("no such run", field="RUN_ID", value=run_id,
                           fix="See `controlplane runbook status`")
    if idx is None:
        waiting = [s for s in store.runbook_steps(run_id) if s.state == "waiting"]
        if not waiting:
            raise InvalidInput(f"run {run_id} waits for no approval (it is {run.state})",
                               field="RUN_ID", value=run_id)
        idx = waiting[-1].idx
    return store.decide(run_id, idx, "reject" if reject else "approve", actor, reason)


def pause_automation(store: Store, actor: str, reason: str) -> AutomationState:
    """Alerts start no runbook until `resume_automation`; each skipped run is still recorded."""
    return store.set_automation_paused(True, actor, reason)


def resume_automation(store: Store, actor: str) -> AutomationState:
    """Let alerts start runbooks again."""
    return store.set_automation_paused(False, actor)
