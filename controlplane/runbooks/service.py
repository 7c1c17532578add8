"""Runbooks inside the control-plane service: alerts from the intake start the runbooks whose
trigger matches, each run on a thread of its own (with its own store connection), and runs a
previous process left behind are resumed or failed cleanly at start-up.

One refused runbook file (or a missing folder) switches every runbook off: `load_error` says
which file, field and value, and the server reports it (503 on /readyz, a metric, an alert)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from controlplane.errors import ControlPlaneError, InvalidInput
from controlplane.platform.base import Platform
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import Runbook, load_runbooks
from controlplane.store import Store
from controlplane.store.alerts import AlertRecord

__all__ = ["RunbookService"]

log = logging.getLogger(__name__)


class RunbookService:
    def __init__(self, platform: Platform, store_path: Path, runbooks_dir: Path) -> None:
        self.platform = platform
        self.store_path = store_path
        self.load_error: ControlPlaneError | None = None
        try:
            self.runbooks: dict[str, Runbook] = _load(runbooks_dir)
        except ControlPlaneError as err:          # refused at load time: say so, act on none
            self.runbooks, self.load_error = {}, err
            log.error("runbooks disabled: %s", err)
        self.threads: list[threading.Thread] = []

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]

    def recover(self) -> None:
        self._spawn(self._recover)

    def _recover(self) -> None:
        with Store(self.store_path) as store:
            for run, what in RunbookEngine(self.platform, store).recover(self.runbooks):
                log.warning("runbook run %s (%s) after restart: %s", run.id, run.runbook, what)

    def on_alerts(self, alerts: list[AlertRecord]) -> None:
        for alert in alerts:
            for rb in self.runbooks.values():
                if alert.status == "firing" and rb.matches(dict(alert.labels)):
                    self._spawn(self._run, rb, alert)

    def _run(self, rb: Runbook, alert: AlertRecord) -> None:
        with Store(self.store_path) as store:
            engine = RunbookEngine(self.platform, store)
            run = engine.start_for_alert(rb, alert)
            if run is None or run.state != "running":
                return                              # handled already, resolved, or locked
            log.warning("alert %s starts runbook %s (run %s)", alert.alertname, rb.name, run.id)
            try:
                done = engine.execute(run, rb)
            except Exception:                       # never leave a run silently active
                log.exception("runbook run %s crashed", run.id)
                store.set_run_state(run.id, "failed", "the engine crashed; see the log")
                return
            log.warning("runbook run %s: %s %s", run.id, done.state, done.error or "")


def _load(runbooks_dir: Path) -> dict[str, Runbook]:
    if not runbooks_dir.is_dir():
        raise InvalidInput("the runbooks folder does not exist", source=str(runbooks_dir),
                           field="--runbooks",
                           fix="Pass the folder holding the runbook YAML files")
    return {name: rb for name, (_, rb) in load_runbooks(runbooks_dir).items()}
