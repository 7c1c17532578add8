"""The load engine process: Locust as a library, driven by an `EngineSpec`.

    python -m controlplane.load.locust_process SPEC.json

It runs in a process of its own because Locust monkey-patches everything with gevent, which
must not leak into the asyncio control plane. In `local` mode Locust's users run right here;
in `master` mode this is the Locust master and the users run in worker processes
(`controlplane.load.worker`) placed by a `WorkerPool`.

Protocol (the same for a Kubernetes master pod, whose log stream would carry it):
- stdout carries only JSON lines: `started`, `master` (the port it bound; workers connect
  there), `error`, `tick` (once a second), `stopping` and `done`. Anything else the code
  prints goes to stderr.
- SIGTERM asks for a graceful stop; the results are written all the same.
- The run stops by itself after `duration_s`, when its shape ends, or when no worker is left.
- Exit code: 0 when results were written, 2 for bad input (a locustfile that fails to import,
  an unknown user class or shape), 3 when the workers did not connect.
"""

from __future__ import annotations

import os
import sys

from gevent import monkey

monkey.patch_all()   # first: Locust's own import does it too, we just make the order explicit

import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import locust.runners  # noqa: E402
import locust.stats  # noqa: E402
import psutil  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.html import get_html_report  # noqa: E402

from controlplane.load import inflight  # noqa: E402
from controlplane.load.histograms import Aggregator  # noqa: E402
from controlplane.load.hooks import WorkerUsage, install_local, install_master  # noqa: E402
from controlplane.load.locust_io import (  # noqa: E402
    EngineError,
    EventOut,
    load_classes,
    setup_logging,
)
from controlplane.load.spec import EngineSpec  # noqa: E402

log = logging.getLogger("controlplane.load.locust_process")


class Engine:
    def __init__(self, spec: EngineSpec, out: EventOut) -> None:
        self.spec = spec
        self.out = out
        self.dir = Path(spec.out_dir)
        self.usage = WorkerUsage()
        settle = 1.5 if spec.mode == "local" else spec.report_interval_s + 1.5
        self.aggregator = Aggregator(window_s=spec.window_s, settle_s=settle)
        self.stop_reason: str | None = None
        self.started_at = 0.0
        self.process = psutil.Process()
        self.process.cpu_percent()
        self.max_users = 0

    # setup ------------------------------------------------------------------------------
    def build(self) -> None:
        user_classes, shape = load_classes(self.spec)
        self.env = Environment(user_classes=user_classes, shape_class=shape, host=self.spec.host,
                               stop_timeout=self.spec.stop_timeout_s)
        self.shape = shape
        if shape is not None:
            shape.configure(self.spec.users, self.spec.duration_s)
        if self.spec.mode == "master":
            self.runner = self.env.create_master_runner("127.0.0.1", 0)
            install_master(self.env, self.aggregator, self.usage)
            self.out.emit("master", host="127.0.0.1", port=self.runner.server.port)
        else:
            self.runner = self.env.create_local_runner()
            install_local(self.env, self.aggregator)
        locust.stats.HISTORY_STATS_INTERVAL_SEC = 1
        gevent.spawn(locust.stats.stats_history, self.runner)
        self.csv = locust.stats.StatsCSVFileWriter(
            self.env, locust.stats.PERCENTILES_TO_REPORT, str(self.dir / "locust"),
            full_history=True)
        gevent.spawn(self.csv.stats_writer)

    def wait_for_workers(self) -> None:
        deadline = time.monotonic() + self.spec.worker_wait_s
        while len(self.runner.clients.ready) < self.spec.workers:
            if time.monotonic() > deadline or self.stop_reason:
                raise EngineError("workers", f"{len(self.runner.clients.ready)} of "
                                  f"{self.spec.workers} workers connected within "
                                  f"{self.spec.worker_wait_s:g} s", exit_code=3)
            gevent.sleep(0.2)
        self.out.emit("workers", connected=len(self.runner.clients.ready),
                      expected=self.spec.workers)

    # the run ----------------------------------------------------------------------------
    def run(self) -> None:
        self.started_at = time.time()
        target = self.shape.target_users() if self.shape is not None else self.spec.users
        self.out.emit("running", target_users=target, at=self.started_at)
        if self.shape is not None:
            self.runner.start_shape()
        else:
            gevent.spawn(self.runner.start, self.spec.users, self.spec.spawn_rate)
        deadline = self.started_at + self.spec.duration_s
        seen_running = False
        while self.stop_reason is None:
            gevent.sleep(self.spec.tick_s)
            self.tick(target)
            state = self.runner.state
            seen_running = seen_running or state in ("spawning", "running")
            if time.time() >= deadline:
                self.stop_reason = f"duration of {self.spec.duration_s:g} s reached"
            elif seen_running and state in ("stopped", "stopping"):
                self.stop_reason = ("the shape ended" if self.shape is not None
                                    else "Locust stopped the run (no workers left?)")

    def tick(self, target: int) -> None:
        self.max_users = max(self.max_users, self.runner.user_count)
        total = self.runner.stats.total
        self.out.emit(
            "tick", at=time.time(), elapsed=time.time() - self.started_at,
            state=self.runner.state, users=self.runner.user_count, target_users=target,
            rps=round(total.current_rps, 2), fail_rps=round(total.current_fail_per_sec, 2),
            locust_ms=_locust_current(total, self.spec.percentiles),
            rows=self.aggregator.settle(),
            window=self.aggregator.window(self.spec.percentiles, self.pending_us()),
            totals={"requests": self.aggregator.requests,
                    "failures": self.aggregator.failures_total},
            workers=self.workers(), engine=self.own_usage())

    def pending_us(self) -> list[int]:
        if self.spec.mode == "master":
            return self.usage.pending_us()
        return inflight.pending_ages_us()

    def workers(self) -> list[dict[str, Any]]:
        if self.spec.mode != "master":
            return []
        rows = []
        for node in self.runner.clients.values():
            ours = self.usage.latest.get(node.id, {})
            rows.append({"id": node.id, "state": node.state, "users": ours.get("users", 0),
                         "cpu": ours.get("cpu", node.cpu_usage), "rss": ours.get("rss", 0),
                         "conns": ours.get("conns", 0),
                         "pid": ours.get("pid"), "reported_at": ours.get("at")})
        return rows

    def own_usage(self) -> dict[str, float]:
        return {"cpu": self.process.cpu_percent(), "rss": self.process.memory_info().rss,
                "conns": len(self.process.net_connections(kind="tcp"))}

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    # the end ----------------------------------------------------------------------------
    def finish(self) -> None:
        self.out.emit("stopping", reason=self.stop_reason)
        ended_at = time.time()
        self.unfinished = self.pending_us()     # cut off by the stop: reported, not recorded
        if self.spec.mode == "master":
            self.runner.stop()
            gevent.sleep(self.spec.report_interval_s + 0.5)   # the workers' last reports
        self.runner.quit()
        rows = self.aggregator.settle(final=True)
        self.tick_final(rows)
        files = self.write_results(ended_at)
        self.out.emit("done", reason=self.stop_reason, files=files,
                      summary=self.summary(ended_at))

    def tick_final(self, rows: list[Any]) -> None:
        if rows:
            self.out.emit("rows", rows=rows)

    def summary(self, ended_at: float) -> dict[str, Any]:
        total = self.runner.stats.total
        percentiles = self.spec.percentiles
        return {
            "started_at": self.started_at, "ended_at": ended_at,
            "duration_s": ended_at - self.started_at, "max_users": self.max_users,
            "hdr": self.aggregator.totals(percentiles),
            "late_requests": self.aggregator.late_requests,
            "unfinished_at_stop": len(self.unfinished),
            "oldest_unfinished_ms": max(self.unfinished, default=0) / 1000,
            "failures_kept": len(self.aggregator.failures),
            "failures_dropped": self.aggregator.failures_dropped,
            "locust": {"requests": total.num_requests, "failures": total.num_failures,
                       "rps": round(total.total_rps, 2),
                       "avg_ms": round(total.avg_response_time, 2),
                       "ms": {f"p{p:g}": total.get_response_time_percentile(p / 100)
                              for p in percentiles} | {"max": total.max_response_time},
                       "errors": [{"name": e.name, "method": e.method, "error": str(e.error),
                                   "occurrences": e.occurrences}
                                  for e in self.runner.stats.errors.values()][:50]},
        }

    def write_results(self, ended_at: float) -> dict[str, str]:
        self.csv.close_files()
        files = {"stats_csv": "locust_stats.csv", "history_csv": "locust_stats_history.csv",
                 "failures_csv": "locust_failures.csv",
                 "exceptions_csv": "locust_exceptions.csv"}
        (self.dir / "locust_report.html").write_text(
            get_html_report(self.env, show_download_link=False), encoding="utf-8")
        locust.stats.save_stats_json(self.runner.stats, str(self.dir / "locust_stats"))
        with (self.dir / "hdr_latency.hgrm").open("wb") as f:
            self.aggregator.latency.output_percentile_distribution(f, 1000)
        (self.dir / "hdr.json").write_text(json.dumps({
            "unit": "microseconds", "latency_from_intended_start":
            self.aggregator.latency.encode().decode(),
            "service_time": self.aggregator.service.encode().decode()}))
        (self.dir / "timeline.json").write_text(json.dumps(self.aggregator.rows))
        with (self.dir / "failures.jsonl").open("w") as f:
            for failure in self.aggregator.failures:
                f.write(json.dumps(failure) + "\n")
        return files | {"html": "locust_report.html", "stats_json": "locust_stats.json",
                        "hdr_text": "hdr_latency.hgrm", "hdr": "hdr.json",
                        "timeline": "timeline.json", "failures": "failures.jsonl"}


def _locust_current(entry: Any, percentiles: list[float]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for p in percentiles:
        try:
            out[f"p{p:g}"] = entry.get_current_response_time_percentile(p / 100)
        except ValueError:
            out[f"p{p:g}"] = None
    return out


def main(argv: list[str]) -> int:
    out = EventOut.take_stdout()
    spec = EngineSpec.read(Path(argv[1]))
    setup_logging(Path(spec.out_dir) / "engine.log")
    locust.runners.WORKER_REPORT_INTERVAL = spec.report_interval_s
    engine = Engine(spec, out)
    gevent.signal_handler(signal.SIGTERM, engine.request_stop, "stopped by the control plane")
    out.emit("started", pid=os.getpid(), mode=spec.mode, locust=locust.__version__)
    try:
        engine.build()
        if spec.mode == "master":
            engine.wait_for_workers()
        engine.run()
        engine.finish()
    except EngineError as err:
        out.emit("error", kind=err.kind, message=str(err), file=err.file, detail=err.detail)
        if getattr(engine, "runner", None) is not None:
            engine.runner.quit()
        return err.exit_code
    except Exception as err:  # noqa: BLE001 - report it on the protocol, then fail
        out.emit("error", kind="internal", message=f"{type(err).__name__}: {err}",
                 detail=traceback.format_exc())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
