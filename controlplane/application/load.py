"""The load-run use case: run one request, record it, and report progress as events.

`run_load` writes the run's row before the engine starts and finishes it with the verdict, so
the outcome it returns carries the id the store gave (`run_id`); without a workspace on disk
(a run against a host outside any cluster) nothing is recorded and `run_id` is None. The
engine's two kinds of news become `Event("load", "tick" | "note", ...)`, each carrying the id.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from controlplane.application.events import Event, EventSink, discard
from controlplane.load.results import RunOutcome
from controlplane.store import Store
from controlplane.store.load_runs import LoadRecords
from controlplane.workspace import Workspace

if TYPE_CHECKING:                       # the engine's module loads Chaos Toolkit: only when run
    from controlplane.load.run import RunRequest

__all__ = ["LoadResult", "run_load", "stored_result"]


@dataclass(frozen=True)
class LoadResult:
    outcome: RunOutcome
    run_id: int | None        # the load_runs row, None when no workspace records it


def stored_result(outcome: RunOutcome) -> dict[str, Any]:
    """What the store keeps of an outcome (and `--json` prints): without the bulky series."""
    data = outcome.to_dict()
    for bulky in ("ticks", "rows", "workers"):
        data.pop(bulky, None)
    return json.loads(json.dumps(data, default=str))


def run_load(workspace: Workspace, request: RunRequest, params: dict[str, Any],
             sink: EventSink = discard) -> LoadResult:
    """Run `request` to its end, recorded in `workspace` with `params` (what was asked)."""
    from controlplane.load.run import LoadRun

    opened = Store(workspace.store_path) if workspace.root.is_dir() else nullcontext()
    with opened as store:
        records = LoadRecords(store) if store is not None else None
        row = records.start_run(request.profile.name, request.mode, str(request.out_dir),
                                params) if records else None
        record = str(row.id) if row else ""

        def listen(kind: str, data: dict[str, Any]) -> None:
            sink(Event("load", kind, str(data.get("message", "")), record=record, data=data))
        outcome = LoadRun(request, listen).execute()
        if records is not None and row is not None:
            records.finish_run(row.id, outcome.verdict, stored_result(outcome))
    return LoadResult(outcome, row.id if row else None)
