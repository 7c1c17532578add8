"""The runbook use cases: run one now, approve or reject a step, pause and resume automation,
and read runs and their steps.

`run_runbook` writes the run's record first and reports every step as an `Event` carrying the
run's id (`record`), so the CLI prints lines and the service could stream the same events. The
engine executes on a thread of its own with its own store connection, while this thread reads
the steps the engine records: that is also how an approval given elsewhere (another terminal,
the service) reaches a waiting run, through the shared store.

A runbook whose parameters are templates (`{{ labels.NAME }}`) takes those labels from its
alert; run by hand it takes them from the caller (`labels`), and is refused without them.

The `*_document` functions are what `--json` prints: runbooks, actions, runs and steps as
JSON-able dicts (times as epoch seconds and ISO 8601).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from controlplane.application.approvals import check_second_person, tally
from controlplane.application.events import Event, EventSink, discard
from controlplane.errors import InvalidInput
from controlplane.platform.base import Platform
from controlplane.runbooks.actions import all_actions
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import Runbook, resolve, template_labels
from controlplane.store import Store, iso
from controlplane.store.runbooks import AutomationState, RunbookRun, RunbookStep

__all__ = ["Decision", "actions_document", "check_manual_labels", "decide", "pause_automation",
           "resume_automation", "run_document", "run_runbook", "runbook_document",
           "runbooks_document", "runs_document", "step_event"]

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


@dataclass(frozen=True)
class Decision:
    """What a vote did: the step decided (`approve`/`reject`), or still `pending` more
    approvals (`have` of `needed`)."""

    run_id: int
    idx: int
    decision: str
    actor: str
    have: int = 1
    needed: int = 1


def decide(store: Store, run_id: int, idx: int | None, *, reject: bool, actor: str,
           reason: str | None = None, totp_code: str | None = None) -> Decision:
    """Approve (or reject) step `idx` of a run, by default the step it waits on. A step of a
    sensitive runbook (the two-person rule) takes votes: each from a registered person with
    the approve permission, not the one who asked, with a fresh TOTP code; it is approved once
    the runbook's `approvers` distinct people approved, rejected at the first rejection."""
    run = store.get_runbook_run(run_id)
    if run is None:
        raise InvalidInput("no such run", field="RUN_ID", value=run_id,
                           fix="See `controlplane runbook status`")
    waiting = [s for s in store.runbook_steps(run_id) if s.state == "waiting"
               and (idx is None or s.idx == idx)]
    if idx is None and not waiting:
        raise InvalidInput(f"run {run_id} waits for no approval (it is {run.state})",
                           field="RUN_ID", value=run_id)
    step_idx = waiting[-1].idx if waiting else idx
    assert step_idx is not None
    rule = dict(waiting[-1].input.get("approval_rule") or {}) if waiting else {}
    decision = "reject" if reject else "approve"
    needed = int(rule.get("approvers", 1))
    if not rule.get("sensitive") and needed == 1:
        done = store.decide(run_id, step_idx, decision, actor, reason)
        return Decision(run_id, done.idx, done.decision, done.actor)
    if rule.get("sensitive"):
        check_second_person(store, actor, str(rule.get("requested_by", "")), totp_code,
                            {v.actor for v in store.votes(run_id, step_idx)},
                            permission="runbooks:approve", what="this run")
    votes = store.vote(run_id, step_idx, actor, decision, reason, totp_code is not None)
    counted = tally(((v.actor, v.decision) for v in votes), needed)
    if counted.decision == "pending":
        return Decision(run_id, step_idx, "pending", actor, len(counted.approvers), needed)
    by = actor if counted.decision == "reject" else ", ".join(counted.approvers)
    store.decide(run_id, step_idx, counted.decision, by, reason)
    return Decision(run_id, step_idx, counted.decision, by, len(counted.approvers), needed)


def pause_automation(store: Store, actor: str, reason: str) -> AutomationState:
    """Alerts start no runbook until `resume_automation`; each skipped run is still recorded."""
    return store.set_automation_paused(True, actor, reason)


def resume_automation(store: Store, actor: str) -> AutomationState:
    """Let alerts start runbooks again."""
    return store.set_automation_paused(False, actor)


# reading: the documents `--json` prints ---------------------------------------------------
def runbooks_document(found: dict[str, tuple[Path, Runbook]]) -> dict[str, Any]:
    """Every runbook in brief: its file, trigger, mode, expected RTO and step names."""
    return {"runbooks": [
        {"name": name, "file": str(path), "target": rb.target, "mode": rb.mode,
         "trigger": rb.trigger.model_dump(mode="json"), "expected_rto_s": rb.expected_rto_s,
         "steps": [s.name for s in rb.steps], "template_labels": template_labels(rb)}
        for name, (path, rb) in found.items()]}


def runbook_document(path: Path, rb: Runbook) -> dict[str, Any]:
    """One runbook as its file says it, with each step's effective approval and the labels
    its templates take."""
    doc = rb.model_dump(mode="json")
    for step, dumped in zip(rb.steps, doc["steps"], strict=True):
        dumped["needs_approval"] = rb.needs_approval(step)
    return {"file": str(path), **doc, "template_labels": template_labels(rb)}


def actions_document() -> dict[str, Any]:
    """The action registry: each action's parameters (and their JSON schema)."""
    return {"actions": [
        {"name": name, "summary": act.summary, "checks_only": not act.mutates,
         "parameters": list(act.params.model_fields),
         "params_schema": act.params.model_json_schema()}
        for name, act in sorted(all_actions().items())]}


def _run_dict(run: RunbookRun) -> dict[str, Any]:
    return {**asdict(run), "trigger": dict(run.trigger), "started_at_iso": iso(run.started_at),
            "ended_at_iso": iso(run.ended_at)}


def _step_dict(step: RunbookStep) -> dict[str, Any]:
    return {**asdict(step), "input": dict(step.input),
            "output": None if step.output is None else dict(step.output),
            "started_at_iso": iso(step.started_at), "ended_at_iso": iso(step.ended_at),
            "took_s": None if step.ended_at is None else step.ended_at - step.started_at}


def runs_document(store: Store | None, limit: int) -> dict[str, Any]:
    """Recent runs, newest first, and whether automation is paused; `store` None: nothing
    is recorded yet."""
    paused = store.automation_state() if store else AutomationState(False, None, None, None)
    runs = store.runbook_runs(limit=limit) if store else []
    return {"automation": {**asdict(paused), "at_iso": iso(paused.at)},
            "runs": [_run_dict(r) for r in runs]}


def run_document(store: Store | None, run_id: int) -> dict[str, Any]:
    """One run and every step it recorded (who, when, input, output, result)."""
    run = store.get_runbook_run(run_id) if store else None
    if run is None or store is None:
        raise InvalidInput("no such run", field="RUN_ID", value=run_id,
                           fix="See `controlplane runbook status`")
    return {"run": _run_dict(run), "steps": [_step_dict(s) for s in store.runbook_steps(run_id)]}
