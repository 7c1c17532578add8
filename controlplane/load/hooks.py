"""Listeners on Locust's events that feed the HdrHistogram recorders (engine and worker side).

Imported only by gevent processes (the engine, the workers); it never imports Locust itself,
it only attaches to the `Environment` it is given.
- local engine: every request goes into the `Aggregator`;
- worker: requests go into a `DeltaRecorder`, shipped with each stats report to the master
  together with the worker's own CPU and memory, measured at every report;
- master: each worker report is merged into the `Aggregator`, and its CPU noted.
"""

from __future__ import annotations

import os
import time
from typing import Any

import psutil

from controlplane.load import inflight
from controlplane.load.histograms import Aggregator, DeltaRecorder, Sample

__all__ = ["REPORT_KEY", "WorkerUsage", "install_local", "install_master", "install_worker",
           "sample_of"]

REPORT_KEY = "controlplane"     # our part of a worker's stats report


def sample_of(*, name: str, response_time: float, start_time: float, exception: Any,
              context: dict[str, Any] | None = None, **_: Any) -> Sample:
    """A request event as a `Sample`; without an intended start it is the actual start."""
    context = context or {}
    end = start_time + (response_time or 0.0) / 1000.0
    return Sample(end=end, intended=float(context.get("intended_start") or start_time),
                  start=start_time, ok=exception is None, name=name,
                  trace_id=str(context.get("trace_id") or ""),
                  error="" if exception is None else f"{type(exception).__name__}: {exception}")


def install_local(env: Any, aggregator: Aggregator) -> None:
    def on_request(**kwargs: Any) -> None:
        aggregator.record(sample_of(**kwargs))
    env.events.request.add_listener(on_request)


def install_worker(env: Any, recorder: DeltaRecorder) -> None:
    process = psutil.Process()
    process.cpu_percent()

    def on_request(**kwargs: Any) -> None:
        recorder.record(sample_of(**kwargs))

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        runner = env.runner
        data[REPORT_KEY] = {**recorder.take(), "pid": os.getpid(), "at": time.time(),
                            "cpu": process.cpu_percent(), "rss": process.memory_info().rss,
                            "conns": len(process.net_connections(kind="tcp")),
                            "pending_us": inflight.pending_ages_us(limit=1000),
                            "users": runner.user_count if runner is not None else 0}

    env.events.request.add_listener(on_request)
    env.events.report_to_master.add_listener(on_report)


class WorkerUsage:
    """The last CPU, memory, user count and pending requests each worker reported."""

    def __init__(self) -> None:
        self.latest: dict[str, dict[str, Any]] = {}

    def pending_us(self) -> list[int]:
        """The ages of every worker's pending requests as of its last report, aged since."""
        now = time.time()
        return [age + round((now - w["at"]) * 1_000_000)
                for w in self.latest.values() for age in w.get("pending_us", [])]

    def note(self, client_id: str, part: dict[str, Any]) -> None:
        self.latest[client_id] = {"cpu": part.get("cpu", 0.0), "rss": part.get("rss", 0),
                                  "conns": part.get("conns", 0),
                                  "pending_us": part.get("pending_us", []),
                                  "pid": part.get("pid"), "users": part.get("users", 0),
                                  "at": part.get("at", time.time())}


def install_master(env: Any, aggregator: Aggregator, usage: WorkerUsage) -> None:
    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        part = data.get(REPORT_KEY)
        if part:
            aggregator.merge(part)
            usage.note(client_id, part)
    env.events.worker_report.add_listener(on_worker_report)
