"""Chaos Toolkit journals of our runs.

chaoslib returns a journal for every run it plays: the experiment, the steady states before
and after, each activity with its output or error, the rollbacks, the status and whether the
run deviated. `chaos run` saves it as `journal.json`; we save it the same way, one per run
next to the suite's reports (`<report dir>/<run id>/journal.json`), so Chaos Toolkit's tools
(`chaos report` of chaostoolkit-reporting, or any reader of the journal format) take our runs
as they take theirs. Values JSON cannot hold are written as `chaos run` writes them: dates in
ISO 8601, anything else as its string.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

__all__ = ["JOURNAL_NAME", "journal_path", "write_journal"]

JOURNAL_NAME = "journal.json"


def journal_path(directory: Path, run_id: str) -> Path:
    return directory / run_id / JOURNAL_NAME


def _encode(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def write_journal(journal: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(journal, indent=2, ensure_ascii=False, default=_encode))
    return path
