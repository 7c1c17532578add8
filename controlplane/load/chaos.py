"""A Chaos Toolkit experiment hosted by a load run, with chaostoolkit-lib in this process.

Two traps of chaostoolkit-lib are handled here:
- After an interrupted run (Ctrl-C, SIGTERM, our own abort) it skips the rollbacks unless the
  rollback strategy is `always`; we always run it with `always`, so a fault is reverted
  whatever stopped the experiment.
- When the steady state fails *before* the method, the journal still ends `completed` (or
  `failed`) and nothing was injected; we report `injected: false` and the reason, and the load
  run is then invalid as a chaos run (no fault window to judge).

chaostoolkit-lib installs signal handlers, so `ChaosHost.run` must be called from the main
thread. `interrupt()` (from any thread) delivers SIGUSR1 to the main thread while the
experiment runs: chaostoolkit-lib turns it into a graceful stop that still plays rollbacks.
Outside an experiment our own handler ignores SIGUSR1, so a late interrupt is harmless.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ChaosException
from chaoslib.experiment import ensure_experiment_is_valid, run_experiment
from chaoslib.loader import load_experiment
from chaoslib.run import RunEventHandler

from controlplane.errors import GuardrailRefused, InvalidInput

__all__ = ["ChaosHost", "ChaosOutcome", "sigusr1_ignored"]


@dataclass
class ChaosOutcome:
    experiment: str
    title: str = ""
    ran: bool = False
    status: str = "not run"          # chaostoolkit's journal status
    deviated: bool = False
    injected: bool = False           # the method ran (at least started)
    steady_state_before: bool | None = None
    interrupted_by: str = ""         # "", "load run", or "operator (Ctrl-C)"
    started_at: float | None = None
    method_started_at: float | None = None
    method_ended_at: float | None = None
    rollbacks_ended_at: float | None = None
    ended_at: float | None = None
    rollbacks: int = 0
    activities: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    journal: str = ""

    def window(self) -> tuple[float, float] | None:
        """The fault window: from the start of the method to the end of the rollbacks."""
        if not self.injected or self.method_started_at is None:
            return None
        end = self.rollbacks_ended_at or self.method_ended_at or self.ended_at
        return (self.method_started_at, end or self.method_started_at)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"window": self.window()}


@contextlib.contextmanager
def _guarded(path: Path, config_vars: dict[str, str]) -> Iterator[None]:
    """The chaos runner's guardrails and run record, when the experiment names our cluster."""
    state_dir = config_vars.get("controlplane_state_dir")
    if not state_dir:
        yield
        return
    from controlplane.chaos.guardrails import load_policy
    from controlplane.chaos.runner import ChaosRunner
    from controlplane.platform import open_platform

    run_id = config_vars.setdefault("controlplane_run_id", f"load-{uuid.uuid4().hex[:10]}")
    with ChaosRunner(open_platform(state_dir), load_policy()).hosted(path, run_id):
        yield


@contextlib.contextmanager
def sigusr1_ignored() -> Iterator[None]:
    """For the length of a load run: SIGUSR1 does nothing unless an experiment is running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGUSR1, lambda *_: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, previous)


class ChaosHost:
    def __init__(self, path: Path, config_vars: dict[str, str], out_dir: Path) -> None:
        self.path = path
        self.config_vars = config_vars
        self.out_dir = out_dir
        self.experiment = self._load()
        self.outcome = ChaosOutcome(experiment=str(path),
                                    title=str(self.experiment.get("title", "")))
        self._running = threading.Event()
        self._lock = threading.Lock()
        self._interrupt_reason = ""

    def _load(self) -> dict[str, Any]:
        if not self.path.is_file():
            raise InvalidInput("no such experiment file", field="--chaos", value=str(self.path))
        try:
            experiment = load_experiment(str(self.path))
            ensure_experiment_is_valid(experiment)
        except (ChaosException, ValueError) as err:
            raise InvalidInput(f"not a valid Chaos Toolkit experiment: {err}",
                               source=str(self.path)) from None
        return experiment

    def run(self) -> ChaosOutcome:
        """Run the experiment now (main thread only), rollbacks strategy `always`, inside the
        chaos guardrails of policies/ when it targets our cluster."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("chaostoolkit-lib needs the main thread (signal handlers)")
        try:
            with _guarded(self.path, self.config_vars):
                return self._run()
        except GuardrailRefused as err:
            self.outcome.note = str(err)
            return self.outcome

    def _run(self) -> ChaosOutcome:
        out = self.outcome
        out.ran, out.started_at = True, time.time()
        settings = {"runtime": {"rollbacks": {"strategy": "always"}}}
        with _chaos_log(self.out_dir / "chaos.log"):
            self._running.set()
            try:
                journal = run_experiment(self.experiment, settings=settings,
                                         experiment_vars=(self.config_vars, {}),
                                         event_handlers=[_Marks(out)])
            finally:
                with self._lock:
                    self._running.clear()
        out.ended_at = time.time()
        self._read_journal(journal)
        return out

    def interrupt(self, reason: str) -> bool:
        """Stop a running experiment gracefully (its rollbacks still run)."""
        with self._lock:
            if not self._running.is_set() or self._interrupt_reason:
                return False
            self._interrupt_reason = reason
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)
            return True

    def _read_journal(self, journal: dict[str, Any]) -> None:
        out = self.outcome
        path = self.out_dir / "chaos-journal.json"
        path.write_text(json.dumps(journal, indent=2, default=str))
        out.journal = path.name
        out.status = str(journal.get("status"))
        out.deviated = bool(journal.get("deviated"))
        before = (journal.get("steady_states") or {}).get("before")
        out.steady_state_before = None if before is None else bool(before["steady_state_met"])
        out.rollbacks = len(journal.get("rollbacks") or [])
        out.activities = [{"name": r["activity"].get("name"), "type": r["activity"].get("type"),
                           "status": r.get("status"), "start": r.get("start"),
                           "end": r.get("end"),
                           "error": str((r.get("exception") or [""])[-1]).strip()}
                          for r in [*(journal.get("run") or []),
                                    *(journal.get("rollbacks") or [])]]
        if out.steady_state_before is False:
            out.note = ("the steady state was not met before the method, so nothing was "
                        f"injected (chaostoolkit reports status {out.status!r})")
        if out.status == "interrupted":
            out.interrupted_by = self._interrupt_reason or "operator (Ctrl-C)"


class _Marks(RunEventHandler):  # type: ignore[misc]
    """Wall-clock marks of the method and the rollbacks."""

    def __init__(self, outcome: ChaosOutcome) -> None:
        self.outcome = outcome

    def start_method(self, experiment: Any) -> None:
        self.outcome.method_started_at = time.time()
        self.outcome.injected = True

    def method_completed(self, experiment: Any, state: Any = None) -> None:
        self.outcome.method_ended_at = time.time()

    def rollbacks_completed(self, experiment: Any, journal: Any) -> None:
        self.outcome.rollbacks_ended_at = time.time()


@contextlib.contextmanager
def _chaos_log(path: Path) -> Iterator[None]:
    """chaostoolkit-lib's log goes to the run's directory, not the terminal."""
    logger = logging.getLogger("chaostoolkit")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    saved = (logger.handlers[:], logger.propagate, logger.level)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        handler.close()
        logger.handlers[:], logger.propagate, logger.level = saved
