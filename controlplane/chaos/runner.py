"""The guarded runner: Chaos Toolkit in-process, inside our guardrails.

For each experiment: refuse if halted or a guardrail says no; lock the targets; start the
RTO/RPO meter; let chaoslib check the steady state, run the method and (always) the rollbacks,
while our guard re-checks the steady state every `check_interval_s` and, on a breach, reverts
the faults at once and interrupts the method. Then verify every fault reverted, wait for the
steady state to come back, reconcile the meter's acknowledged orders, and record the verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaoslib.run import Runner
from chaoslib.types import Schedule, Strategy

from controlplane.chaos.catalogue import HOLD_TAG
from controlplane.chaos.config import RUN_KEY, STATE_KEY
from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.chaos.experiments import (
    Experiment,
    load_any_experiment,
    planned_faults,
    read_experiment,
)
from controlplane.chaos.guardrails import (
    Planned,
    Policy,
    TargetLocks,
    check_blast_radius,
    check_error_budget,
    check_freeze,
)
from controlplane.chaos.outcome import FaultEvidence, RunOutcome, verdict
from controlplane.chaos.probes import has_slo_data, slo_availability
from controlplane.chaos.reaper import reap
from controlplane.chaos.steady_state_guard import (
    Guard,
    HypothesisError,
    TimelineEvents,
    evaluate,
    failing_probe,
)
from controlplane.errors import ControlPlaneError, GuardrailRefused
from controlplane.meter import measure_rpo, measure_rto, present_orders
from controlplane.meter.background import BackgroundMeter
from controlplane.platform import Platform

__all__ = ["ChaosRunner", "Progress"]

log = logging.getLogger(__name__)
Progress = Callable[[str, RunOutcome, str], None]    # (event kind, run, message)


class ChaosRunner:
    def __init__(self, platform: Platform, policy: Policy, *,
                 progress: Progress | None = None, suite_id: str | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.platform = platform
        self.policy = policy
        self.progress = progress or (lambda kind, run, msg: None)
        self.suite_id = suite_id
        self.now = now
        self.ctx = FaultContext(platform, platform.workspace.store_path)
        self.engine = FaultEngine(self.ctx)
        self.locks = TargetLocks(platform.workspace.locks_dir)

    @property
    def store(self):
        return self.ctx.store

    # start-up ----------------------------------------------------------------------------
    def recover_orphans(self) -> dict[int, Any]:
        """Revert faults left by runs whose runner died; mark those runs aborted. The same
        pass the supervisor's reaper makes, plus the faults whose owner it cannot judge."""
        return reap(self.engine, orphans=True).reverted

    # one experiment ----------------------------------------------------------------------
    def run(self, path: Path) -> RunOutcome:
        exp, notices = load_any_experiment(path)
        run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        out = RunOutcome(run_id, str(path), exp.title, exp.tags, started_at=time.time())
        self.store.start_chaos_run(run_id, str(path), exp.title, exp.tags, self.suite_id,
                                   os.getpid())
        self._event(out, "run_started", time.time(), {"experiment": str(path)})
        for notice in notices:              # a user's own file: how it is run here, once
            self._event(out, "notice", time.time(), {"message": notice})
        try:
            self._guarded(exp, out)
        except Exception as err:        # recorded, reverted, then raised: never left running
            self._abort(out, err)
            self._close(out)
            raise
        self._close(out)
        return out

    def _guarded(self, exp: Experiment, out: RunOutcome) -> None:
        locks: list[Path] = []
        try:
            locks = self._guardrails(exp, out)
            self._execute(exp, out)
        except GuardrailRefused as err:
            out.state, out.reason = "refused", str(err)
        finally:
            TargetLocks.release(locks)

    def _close(self, out: RunOutcome) -> None:
        out.ended_at = time.time()
        self.store.finish_chaos_run(out.run_id, out.state, out.reason, out.summary())
        self._event(out, "run_finished", out.ended_at, {"state": out.state})

    def _abort(self, out: RunOutcome, err: Exception) -> None:
        """The run failed outside chaoslib: revert what it injected, and say why."""
        out.state = "aborted"
        out.reason = f"the run failed: {type(err).__name__}: {err}"[:500]
        try:
            self.engine.revert_run(out.run_id)
        except Exception as revert_err:
            out.reason += f"; reverting its faults failed too: {revert_err}"[:300]
            log.exception("could not revert the faults of run %s", out.run_id)

    def _event(self, out: RunOutcome, kind: str, at: float, detail: dict[str, Any]) -> None:
        out.events.append((kind, at, detail))
        self.store.add_chaos_event(out.run_id, at, kind, detail)
        self.progress(kind, out, detail.get("probe") or detail.get("message") or "")

    def _guardrails(self, exp: Experiment, out: RunOutcome) -> list[Path]:
        planned = self._static_guardrails(exp)
        self._wait_for_slo_data(self.policy.error_budget.service,
                                self.policy.steady_state.min_history_s)
        if self.policy.error_budget.min_remaining > 0:
            remaining = self._budget_gate(out)
            self._event(out, "error_budget", time.time(), {"remaining": round(remaining, 4)})
        self._refuse_if_halted()            # a halt while the gates above waited
        return self.locks.acquire(out.run_id, [i for p in planned for i in p.instances])

    def _refuse_if_halted(self) -> None:
        halt = self.store.halt_state()
        if halt.halted:
            raise GuardrailRefused("halt", f"chaos is halted ({halt.reason or 'no reason given'})",
                                   "Run `controlplane chaos resume` when it is safe")

    def _static_guardrails(self, exp: Experiment) -> list[Planned]:
        """Halt, freeze windows and blast radius: the checks that need no traffic history."""
        self._refuse_if_halted()
        if HOLD_TAG in exp.data.get("tags", []) and not self.policy.steady_state.allow_hold:
            raise GuardrailRefused("steady-state", f"the experiment is tagged {HOLD_TAG}: its "
                                   "faults would outlast a breach of the steady state, and this "
                                   "policy does not allow that", "Run it under a policy with "
                                   "steady_state.allow_hold: true (the lab's), or drop the tag")
        check_freeze(self.policy.freeze, self.now())
        planned = [self._plan(p, exp) for p in planned_faults(exp)]
        info = self.platform.info()
        sizes = {c.name: len(c.instances) for c in info.components}
        busy: dict[str, set[str]] = {}
        for fault in self.store.open_faults():
            target = fault.revert.get("target", {})
            for inst in list(target.get("instances", [])) + list(target.get("peer", [])):
                busy.setdefault(inst.rsplit("-", 1)[0], set()).add(inst)
        check_blast_radius(self.policy.blast_radius, planned, sizes, busy)
        return planned

    @contextlib.contextmanager
    def hosted(self, path: Path, run_id: str) -> Iterator[None]:
        """For an experiment another run hosts (a load run): the same halt, freeze, blast-radius
        and per-target checks, and a chaos run record (so halt and recover see it); the host
        runs chaoslib itself. The error-budget gate is left out: the load spends budget."""
        exp = read_experiment(path)          # any Chaos Toolkit file, not only our catalogue
        planned = self._static_guardrails(exp)
        locks = self.locks.acquire(run_id, [i for p in planned for i in p.instances])
        self.store.start_chaos_run(run_id, str(path), exp.title, exp.tags, "hosted",
                                   os.getpid())
        state = "aborted"
        try:
            yield
            state = "passed"
        finally:
            TargetLocks.release(locks)
            self.engine.revert_run(run_id)
            self.store.finish_chaos_run(run_id, state, "hosted by a load run", {})

    def _budget_gate(self, out: RunOutcome) -> float:
        """The remaining error budget, waiting up to the policy's wait_s for it to recover."""
        budget = self.policy.error_budget
        deadline = time.time() + budget.wait_s
        while True:
            avail = slo_availability(budget.service, budget.window_s, self._config(out))
            try:
                return check_error_budget(budget, avail)
            except GuardrailRefused:
                if time.time() >= deadline:
                    raise
                self.progress("waiting_for_budget", out, f"availability {avail:.2%}")
                time.sleep(2)

    def _wait_for_slo_data(self, service: str, history_s: int) -> None:
        """SLO probes need a full window of history (a fresh cluster has a few seconds)."""
        if history_s <= 0:
            return
        config = {STATE_KEY: str(self.platform.workspace.root)}
        deadline = time.time() + history_s + 30
        while not has_slo_data(service, history_s, config):
            if time.time() > deadline:
                raise GuardrailRefused("steady-state", f"Prometheus holds less than "
                                       f"{history_s} s of {service} scrapes",
                                       "Check that Prometheus scrapes it (cluster status)")
            time.sleep(0.5)

    def _plan(self, fault: dict[str, Any], exp: Experiment) -> Planned:
        _, target, _ = self.engine.plan(fault["kind"], fault["target"], fault["parameters"],
                                        fault["pick"], source=str(exp.path))
        peer = target.peer[0].rsplit("-", 1)[0] if target.peer else None
        return Planned(target.component, target.instances, peer, tuple(target.peer))

    def _config(self, out: RunOutcome) -> dict[str, Any]:
        return {STATE_KEY: str(self.platform.workspace.root), RUN_KEY: out.run_id}

    # the run itself ----------------------------------------------------------------------
    def _execute(self, exp: Experiment, out: RunOutcome) -> None:
        meter = self._start_meter(out)
        record = lambda kind, at, detail: self._event(out, kind, at, detail)   # noqa: E731
        experiment = copy.deepcopy(exp.data)
        config = self._config(out)
        held = HOLD_TAG in exp.data.get("tags", [])
        if held:
            record("fault_held", time.time(), {"message": "the guard reverts on a halt only: "
                                               "the faults last their whole duration"})
        guard = (HaltOnlyGuard if held else Guard)(
            experiment, config, {}, self.policy.steady_state.check_interval_s, record,
            lambda: self._revert_now(out), lambda: self.store.halt_state().halted)
        events = TimelineEvents(guard, record)
        journal = out.journal = self._chaoslib(experiment, config, guard, events)
        guard.stop()
        self._finish(exp, out, journal, events, guard, meter)

    def _chaoslib(self, experiment: dict[str, Any], config: dict[str, Any], guard: Guard,
                  events: TimelineEvents) -> dict[str, Any]:
        settings = {"runtime": {"rollbacks": {"strategy": "always"}}}
        quiet = logging.getLogger("chaostoolkit")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        guard.start()
        try:
            with Runner(Strategy.DEFAULT, Schedule()) as runner:
                runner.register_event_handler(events)
                return runner.run(experiment, settings, experiment_vars=(dict(config), {}))
        finally:
            quiet.setLevel(level)

    def _revert_now(self, out: RunOutcome) -> dict[str, Any]:
        results = self.engine.revert_run(out.run_id)
        return {"reverted": sorted(results), "verified": all(e.ok for e in results.values())}

    def _start_meter(self, out: RunOutcome) -> BackgroundMeter | None:
        rate = self.policy.load.rate
        if rate <= 0:
            return None
        gateway = self.platform.instances("gateway")[0].endpoints["http"]
        meter = BackgroundMeter(gateway, rate).start()
        if meter.error is not None:
            self._event(out, "meter_unavailable", time.time(), {"message": repr(meter.error)})
            return None
        self._event(out, "load_started", time.time(), {"message": f"meter at {rate:g}/s"})
        return meter

    def _finish(self, exp: Experiment, out: RunOutcome, journal: dict[str, Any],
                events: TimelineEvents, guard: Guard, meter: BackgroundMeter | None) -> None:
        leftover = self.engine.revert_run(out.run_id)       # rollbacks should have done it
        if leftover:
            self._event(out, "reverted_after_run", time.time(),
                        {"faults": sorted(leftover)})
        out.faults = self._fault_evidence(out.run_id)
        before = events.before.get("steady_state_met") if events.before else None
        if before is False:
            out.reason = json.dumps(failing_probe(events.before))
        elif journal.get("status") != "interrupted" or guard.tripped:
            self._wait_recovery(exp, out, guard)
        if meter is not None:
            self._reconcile(out, meter.stop())
        error = _activity_error(journal)
        halted = guard.tripped.get("why") == "halted" or (
            journal.get("status") == "interrupted" and self.store.halt_state().halted)
        out.state, out.reason = verdict(
            out, halted=halted,
            chaos_status=str(journal.get("status")), deviated=bool(journal.get("deviated"))
            and not guard.tripped, steady_before=before, activity_error=error)

    def _fault_evidence(self, run_id: str) -> list[FaultEvidence]:
        return [FaultEvidence(f.id, f.kind, f.target,
                              list(f.revert.get("target", {}).get("instances", [])),
                              f.injected_at, f.reverted_at, f.state,
                              dict(f.revert_detail) if f.revert_detail else None, f.error)
                for f in self.store.faults_of_run(run_id)]

    def _wait_recovery(self, exp: Experiment, out: RunOutcome, guard: Guard) -> None:
        """Wait for the steady state, evaluated with the run's configuration and secrets."""
        deadline = time.time() + self.policy.steady_state.recovery_timeout_s
        while time.time() < deadline:
            try:
                state = evaluate(exp.data, guard.configuration, guard.secrets)
            except HypothesisError as err:
                self._event(out, "hypothesis_error", time.time(),
                            {"phase": "recovery", "message": str(err)})
                return
            if state is None or state["steady_state_met"]:
                out.recovered_at = time.time()
                self._event(out, "recovered", out.recovered_at,
                            {"message": "steady state holds again"})
                return
            time.sleep(0.5)

    def _reconcile(self, out: RunOutcome, attempts: list[Any]) -> None:
        out.meter_attempts = attempts
        acked = [a for a in attempts if a.ok]
        out.acked = len(acked)
        start = out.first_injection
        if start is not None and attempts:
            rto = measure_rto(attempts, start, self.policy.load.rate)
            out.rto_s = rto.rto_s
        try:
            present = asyncio.run(present_orders(self.platform.ledger_dsn(),
                                                 [a.order_id for a in acked]))
        except (OSError, ControlPlaneError) as err:
            self._event(out, "rpo_unchecked", time.time(), {"message": repr(err)})
            return
        out.rpo_orders = measure_rpo(acked, present).lost


class HaltOnlyGuard(Guard):
    """The guard of a held run: it reverts on an operator's halt, never on an SLO breach."""

    def _check(self) -> dict[str, Any] | None:
        return {"why": "halted", "at": time.time()} if self.halted() else None


def _activity_error(journal: dict[str, Any]) -> str | None:
    for run in journal.get("run", []):
        if run.get("status") == "failed":
            name = run.get("activity", {}).get("name")
            return f"{name}: {str(run.get('exception', ['?'])[-1]).strip()[:300]}"
    return None
