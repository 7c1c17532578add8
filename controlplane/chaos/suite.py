"""Run many experiments in a row: recover leftovers first, run each under the guardrails,
then write the reports."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controlplane.chaos.experiments import InvalidExperiment
from controlplane.chaos.guardrails import Policy
from controlplane.chaos.outcome import RunOutcome
from controlplane.chaos.report import write_reports
from controlplane.chaos.runner import ChaosRunner, Progress
from controlplane.platform import Platform

__all__ = ["SuiteResult", "run_suite"]


@dataclass(frozen=True)
class SuiteResult:
    suite_id: str
    outcomes: list[RunOutcome]
    reports: dict[str, Path]
    recovered: int

    @property
    def ok(self) -> bool:
        return all(o.state == "passed" for o in self.outcomes)

    def counts(self) -> dict[str, int]:
        """How many runs ended in each state."""
        found: dict[str, int] = {}
        for o in self.outcomes:
            found[o.state] = found.get(o.state, 0) + 1
        return dict(sorted(found.items()))

    def to_dict(self) -> dict[str, Any]:
        """The suite as `chaos run --json` prints it: the verdict, each run's summary and the
        reports written."""
        return {"suite_id": self.suite_id, "ok": self.ok, "counts": self.counts(),
                "recovered_faults": self.recovered,
                "reports": {kind: str(path) for kind, path in self.reports.items()},
                "runs": [o.summary() for o in self.outcomes]}


def run_suite(platform: Platform, policy: Policy, paths: list[Path], *,
              report_dir: Path | None = None, progress: Progress | None = None,
              on_start: Callable[[int, Path], None] | None = None) -> SuiteResult:
    suite_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:4]}"
    runner = ChaosRunner(platform, policy, progress=progress, suite_id=suite_id)
    recovered = runner.recover_orphans()
    outcomes = []
    for i, path in enumerate(paths):
        if i and policy.steady_state.cooldown_s and outcomes[-1].faults:
            time.sleep(policy.steady_state.cooldown_s)   # let the last run leave the windows
        if on_start:
            on_start(i, path)
        try:
            outcomes.append(runner.run(path))
        except InvalidExperiment as err:
            now = time.time()
            outcomes.append(RunOutcome("-", str(path), path.stem, [], "failed",
                                       f"invalid experiment: {err}", now, now))
    directory = report_dir or platform.workspace.reports_dir / f"chaos-{suite_id}"
    return SuiteResult(suite_id, outcomes, write_reports(outcomes, directory, suite_id),
                       len(recovered))
