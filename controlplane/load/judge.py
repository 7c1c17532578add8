"""The verdict of a finished load run, the fault window's failures, and the result files.

- error: the engine refused its input or crashed (exit 2);
- aborted: the operator interrupted the run (exit 130);
- invalid: the figures cannot be trusted (overloaded generator, missing worker, target never
  reached, an experiment that injected nothing) (exit 4);
- failed: a gate failed, live past its grace period or over the whole run (exit 1);
- passed (exit 0). A breakpoint profile passes when it found its breakpoint.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from controlplane.load.plots import plot_run
from controlplane.load.results import (
    RunOutcome,
    failures_in_window,
    read_failures,
    window_counts,
)

if TYPE_CHECKING:
    from controlplane.load.run import LoadRun

__all__ = ["judge"]

TRACE_IDS_IN_RESULT = 200


def judge(run: LoadRun) -> RunOutcome:
    out = run.out
    out.peak_cpu = {k: round(v, 1) for k, v in run.validity.peak_cpu.items()}
    if run.chaos is not None:
        _chaos(run)
    if out.error is not None:
        out.verdict = "error"
    elif run.interrupted:
        out.verdict = "aborted"
    else:
        _gates_and_validity(run)
        out.verdict = "invalid" if out.invalid else "failed" if out.failures else "passed"
    out.files.update(plot_run(out, run.req.out_dir))
    out.files["result"] = "result.json"
    out.write(run.req.out_dir / "result.json")
    return out


def _gates_and_validity(run: LoadRun) -> None:
    out = run.out
    stopped_early = bool(run.abort_reason)
    if run.req.profile.breakpoint:
        if not stopped_early:
            out.stop_reason += "; no breakpoint: every step held"
    else:
        if run.abort_reason:
            out.failures.append(run.abort_reason)
        out.failures.extend(run.final_gate_failures())
    max_users = max(run.max_users, int(out.summary.get("max_users", 0)))
    run.validity.observe_end(max_users=max_users, target_users=out.target_users,
                             allow_short=stopped_early)
    out.invalid.extend(r for r in run.validity.reasons if r not in out.invalid)
    if run.chaos is not None and not run.chaos.outcome.injected:
        out.invalid.append("the chaos experiment injected nothing: "
                           + (run.chaos.outcome.note or run.chaos.outcome.status))


def _chaos(run: LoadRun) -> None:
    assert run.chaos is not None
    chaos = run.chaos.outcome
    result = chaos.to_dict()
    window = chaos.window()
    if window is not None:
        failed = failures_in_window(read_failures(run.req.out_dir / "failures.jsonl"), window)
        path = run.req.out_dir / "fault_window_failures.jsonl"
        path.write_text("".join(json.dumps(f) + "\n" for f in failed))
        result |= {"in_window": window_counts(run.out.rows, window),
                   "failed_in_window": len(failed),
                   "failed_trace_ids": [f["trace_id"] for f in failed][:TRACE_IDS_IN_RESULT],
                   "failed_file": path.name}
        run.out.files["fault_window_failures"] = path.name
    run.out.chaos = result
