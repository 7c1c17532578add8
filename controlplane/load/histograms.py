"""Latency from the intended start, in HdrHistograms: per second, per window and for the run.

No Locust and no gevent here: the engine and the workers feed it from Locust's request event
(see `hooks`), and the control plane reads what it wrote.

Two histograms per sample, in microseconds:
- `latency`: end minus the *intended* start (the schedule), the coordinated-omission-safe
  figure that gates and headlines use;
- `service`: end minus the actual send, what Locust's own percentiles describe.

A worker keeps only what happened since its last report (`DeltaRecorder.take`); the master or
the local engine adds those deltas into an `Aggregator`, which settles each second into a
timeline row once no more data can arrive for it, keeps a sliding window for the gates and the
run's totals, and remembers failed requests (with their trace ids), bounded in number.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from hdrh.histogram import HdrHistogram

__all__ = ["HIGHEST_US", "PERCENTILES", "Aggregator", "DeltaRecorder", "Failure", "Sample",
           "TimelineRow", "new_histogram", "percentiles_ms"]

LOWEST_US = 1
HIGHEST_US = 600_000_000          # 10 minutes; longer latencies are clamped (and counted)
DIGITS = 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9, 99.99)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def percentiles_ms(hist: HdrHistogram, wanted: Iterable[float] = PERCENTILES) -> dict[str, float]:
    """{"p50": ms, ..., "max": ms} of a histogram; empty when it holds nothing."""
    if hist.get_total_count() == 0:
        return {}
    out = {_key(p): hist.get_value_at_percentile(p) / 1000.0 for p in wanted}
    out["max"] = hist.get_max_value() / 1000.0
    return out


def _key(p: float) -> str:
    return "p" + (f"{p:g}" if p != int(p) else str(int(p)))


class Failure(TypedDict):
    at: float            # when the answer (or the error) came, epoch s
    intended: float      # the intended start, epoch s
    name: str
    trace_id: str
    error: str


@dataclass(frozen=True)
class Sample:
    end: float           # epoch s
    intended: float      # epoch s
    start: float         # epoch s, the actual send
    ok: bool
    name: str = ""
    trace_id: str = ""
    error: str = ""

    def latency_us(self) -> int:
        return _us(self.end - self.intended)

    def service_us(self) -> int:
        return _us(self.end - self.start)


def _us(seconds: float) -> int:
    return min(max(LOWEST_US, round(seconds * 1_000_000)), HIGHEST_US)


@dataclass
class _Second:
    latency: HdrHistogram = field(default_factory=new_histogram)
    service: HdrHistogram = field(default_factory=new_histogram)
    requests: int = 0
    failures: int = 0

    def add(self, sample: Sample) -> None:
        self.latency.record_value(sample.latency_us())
        self.service.record_value(sample.service_us())
        self.requests += 1
        self.failures += 0 if sample.ok else 1


class DeltaRecorder:
    """A worker's samples since its last report, by second of completion."""

    def __init__(self, max_failures: int = 2000) -> None:
        self._seconds: dict[int, _Second] = {}
        self._failures: list[Failure] = []
        self._dropped = 0
        self.max_failures = max_failures

    def record(self, sample: Sample) -> None:
        self._seconds.setdefault(int(sample.end), _Second()).add(sample)
        if not sample.ok:
            if len(self._failures) < self.max_failures:
                self._failures.append(_failure(sample))
            else:
                self._dropped += 1

    def take(self) -> dict[str, Any]:
        """Everything recorded since the last call, encoded for the master; then forget it."""
        seconds = {str(sec): {"latency": b.latency.encode(), "service": b.service.encode(),
                              "requests": b.requests, "failures": b.failures}
                   for sec, b in self._seconds.items()}
        payload = {"seconds": seconds, "failures": self._failures,
                   "failures_dropped": self._dropped}
        self._seconds, self._failures, self._dropped = {}, [], 0
        return payload


def _failure(sample: Sample) -> Failure:
    return Failure(at=sample.end, intended=sample.intended, name=sample.name,
                   trace_id=sample.trace_id, error=sample.error[:300])


class TimelineRow(TypedDict):
    t: int                      # the second (epoch) the requests completed in
    requests: int
    failures: int
    latency_ms: dict[str, float]   # from the intended start: p50, p90, p99, ..., max


class Aggregator:
    """The run's view: timeline rows, a sliding window, totals and failed requests."""

    def __init__(self, *, window_s: int = 10, settle_s: float = 1.5,
                 max_failures: int = 50_000, clock: Callable[[], float] = time.time) -> None:
        self.latency = new_histogram()
        self.service = new_histogram()
        self.requests = 0
        self.failures_total = 0
        self.failures: list[Failure] = []
        self.failures_dropped = 0
        self.late_requests = 0
        self.rows: list[TimelineRow] = []
        self.max_failures = max_failures
        self._open: dict[int, _Second] = {}
        self._window: deque[tuple[int, _Second]] = deque()
        self._window_s = window_s
        self._settle_s = settle_s
        self._settled_until = 0         # every second below this is a row already
        self._row_of: dict[int, TimelineRow] = {}
        self._clock = clock

    # feeding ----------------------------------------------------------------------------
    def record(self, sample: Sample) -> None:
        second = self._second(int(sample.end))
        if second is None:
            self._late(int(sample.end), 1, 0 if sample.ok else 1)
        else:
            second.add(sample)
        self.latency.record_value(sample.latency_us())
        self.service.record_value(sample.service_us())
        self._count(1, 0 if sample.ok else 1)
        if not sample.ok:
            self._keep_failures([_failure(sample)], 0)

    def merge(self, payload: dict[str, Any]) -> None:
        """Add a worker's `DeltaRecorder.take()`."""
        for sec_text, data in payload.get("seconds", {}).items():
            latency = HdrHistogram.decode(data["latency"])
            service = HdrHistogram.decode(data["service"])
            second = self._second(int(sec_text))
            if second is None:
                self._late(int(sec_text), data["requests"], data["failures"])
            else:
                second.latency.add(latency)
                second.service.add(service)
                second.requests += data["requests"]
                second.failures += data["failures"]
            self.latency.add(latency)
            self.service.add(service)
            self._count(data["requests"], data["failures"])
        self._keep_failures(payload.get("failures", []), payload.get("failures_dropped", 0))

    def _second(self, sec: int) -> _Second | None:
        """The open second `sec`, or None when it is settled already (late data)."""
        if sec < self._settled_until:
            return None
        return self._open.setdefault(sec, _Second())

    def _late(self, sec: int, requests: int, failures: int) -> None:
        """Data for a settled second: counted in its row and the totals, not its percentiles."""
        row = self._row_of.get(sec)
        if row is not None:
            row["requests"] += requests
            row["failures"] += failures
        self.late_requests += requests

    def _count(self, requests: int, failures: int) -> None:
        self.requests += requests
        self.failures_total += failures

    def _keep_failures(self, failures: list[Failure], dropped: int) -> None:
        room = max(0, self.max_failures - len(self.failures))
        self.failures.extend(failures[:room])
        self.failures_dropped += dropped + max(0, len(failures) - room)

    # reading ----------------------------------------------------------------------------
    def settle(self, now: float | None = None, *, final: bool = False) -> list[TimelineRow]:
        """Close every second that no report can still add to (every second when `final`);
        return the new rows."""
        if final:
            limit = max(self._open, default=self._settled_until - 1) + 1
        else:
            limit = int((self._clock() if now is None else now) - self._settle_s)
        new: list[TimelineRow] = []
        for sec in sorted(s for s in self._open if s < limit):
            second = self._open.pop(sec)
            row = TimelineRow(t=sec, requests=second.requests, failures=second.failures,
                              latency_ms=percentiles_ms(second.latency))
            self.rows.append(row)
            self._row_of[sec] = row
            new.append(row)
            self._window.append((sec, second))
        self._settled_until = max(self._settled_until, limit)
        while self._window and self._window[0][0] < limit - self._window_s:
            self._window.popleft()
        return new

    def window(self, wanted: Iterable[float] = PERCENTILES,
               pending_us: Iterable[int] = ()) -> dict[str, Any]:
        """Requests, failures and percentiles (both kinds) over the last settled seconds.
        `pending_us`, the ages of requests still in flight, enter the latency-from-intended-
        start figures as lower bounds (a stalled target answers nothing, yet is slow)."""
        latency, service = new_histogram(), new_histogram()
        pending = 0
        for age in pending_us:
            latency.record_value(min(age, HIGHEST_US))
            pending += 1
        requests = failures = 0
        for _, second in self._window:
            latency.add(second.latency)
            service.add(second.service)
            requests += second.requests
            failures += second.failures
        return {"seconds": len(self._window), "requests": requests, "failures": failures,
                "pending": pending, "latency_ms": percentiles_ms(latency, wanted),
                "service_ms": percentiles_ms(service, wanted)}

    def totals(self, wanted: Iterable[float] = PERCENTILES) -> dict[str, Any]:
        return {"requests": self.requests, "failures": self.failures_total,
                "latency_ms": percentiles_ms(self.latency, wanted),
                "service_ms": percentiles_ms(self.service, wanted)}
