"""The record of one load run: verdict, reasons, figures, the fault window, and its files."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from controlplane.load.histograms import Failure, TimelineRow

__all__ = ["EXIT_CODES", "RunOutcome", "Verdict", "failures_in_window", "read_failures",
           "window_counts"]

Verdict = Literal["passed", "failed", "invalid", "aborted", "error"]
EXIT_CODES: dict[str, int] = {"passed": 0, "failed": 1, "error": 2, "invalid": 4,
                              "aborted": 130}


@dataclass
class RunOutcome:
    profile: str
    mode: str
    host: str
    out_dir: str
    target_users: int = 0
    verdict: Verdict = "error"
    failures: list[str] = field(default_factory=list)     # gates that failed
    invalid: list[str] = field(default_factory=list)      # why the run cannot be trusted
    stop_reason: str = ""
    error: dict[str, Any] | None = None                   # the engine's error event
    breakpoint_users: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)  # the engine's figures
    ticks: list[dict[str, Any]] = field(default_factory=list)
    rows: list[TimelineRow] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)
    peak_cpu: dict[str, float] = field(default_factory=dict)
    chaos: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)
    gates: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def reasons(self) -> list[str]:
        return [*self.failures, *self.invalid]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"exit_code": self.exit_code}

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str))
        return path


def read_failures(path: Path) -> list[Failure]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def failures_in_window(failures: list[Failure], window: tuple[float, float]) -> list[Failure]:
    """Failed requests whose life (intended start to answer) overlaps the fault window."""
    start, end = window
    return [f for f in failures if f["intended"] <= end and f["at"] >= start]


def window_counts(rows: list[TimelineRow], window: tuple[float, float]) -> dict[str, int]:
    """Requests and failures completed in the seconds the window touches."""
    start, end = int(window[0]), int(window[1])
    inside = [r for r in rows if start <= r["t"] <= end]
    return {"requests": sum(r["requests"] for r in inside),
            "failures": sum(r["failures"] for r in inside)}
