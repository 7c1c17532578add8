"""Locust user bases for trading workloads: paced requests, known trace ids, intended starts.

Importing this module imports Locust, which monkey-patches the process with gevent: only
locustfiles and the load engine/worker processes import it, never the control plane itself.

Every request goes out on a schedule. A user's schedule advances by the pauses it takes
(`pause(seconds)`), not by when the server answered, so a stalled server makes the user late
rather than quiet. When it is late, the next request goes out at once and its latency is
measured from the *intended* start (the schedule), as wrk2 does. That removes coordinated
omission from the figures recorded by `controlplane.load.hooks`.

`ArrivalRateUser` is the strict open model: requests start on a fixed schedule each in their
own greenlet, whether or not earlier ones were answered (bounded by `max_in_flight`; a request
the bound refuses is recorded as a failure, never silently dropped).

Each request carries a W3C `traceparent` we generate, so its trace id is known even when the
request fails; the trace id and the intended start travel to the hooks in the request
event's `context` (the contract: keys `intended_start` (epoch s) and `trace_id` (32 hex)).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any

import gevent
from locust import FastHttpUser, constant, task
from locust.contrib.fasthttp import ResponseContextManager

from controlplane.load import inflight

__all__ = ["ArrivalRateUser", "PacedUser", "new_traceparent"]


def new_traceparent() -> tuple[str, str]:
    """A sampled W3C traceparent header value and its trace id."""
    trace_id = f"{random.getrandbits(128) or 1:032x}"
    return f"00-{trace_id}-{random.getrandbits(64) or 1:016x}-01", trace_id


class PacedUser(FastHttpUser):
    """A user whose requests follow a schedule advanced by `pause`, never by the server."""

    abstract = True
    wait_time = constant(0)      # the schedule paces every request; see `call`
    start_spread_s: float = 1.0  # the first request is at a random point in this span

    def on_start(self) -> None:
        self._next = time.time() + random.uniform(0.0, self.start_spread_s)

    def pause(self, seconds: float) -> None:
        """Advance the schedule: the next request is intended `seconds` after this one."""
        self._next += max(0.0, seconds)

    def _wait_for_schedule(self) -> float:
        intended = self._next
        delay = intended - time.time()
        if delay > 0:
            gevent.sleep(delay)
        return intended

    def call(self, method: str, path: str, *, name: str, ok: Iterable[int] = (200,),
             json: Any = None) -> ResponseContextManager:
        """Send one request when the schedule says; `ok` are the statuses counted as success."""
        intended = self._wait_for_schedule()
        return self.send(method, path, name=name, ok=ok, json=json, intended=intended)

    def send(self, method: str, path: str, *, name: str, ok: Iterable[int], json: Any,
             intended: float) -> ResponseContextManager:
        header, trace_id = new_traceparent()
        context = {"intended_start": intended, "trace_id": trace_id}
        token = inflight.begin(intended)
        try:
            with self.client.request(method, path, name=name, json=json, catch_response=True,
                                     headers={"traceparent": header}, context=context) as resp:
                if resp.status_code in tuple(ok):
                    resp.success()
                else:
                    resp.failure(f"HTTP {resp.status_code}: {_message(resp)}")
                return resp
        finally:
            inflight.end(token)


class ArrivalRateUser(PacedUser):
    """Open model: one request every 1/`rate` s, each in its own greenlet."""

    abstract = True
    rate: float = 10.0           # requests per second offered by one user
    max_in_flight: int = 200
    concurrency = 200            # FastHttpUser's connection pool size

    def on_start(self) -> None:
        super().on_start()
        self._in_flight = 0

    def request_args(self) -> tuple[str, str, str, Iterable[int], Any]:
        """(method, path, name, ok statuses, json body) of the next request."""
        raise NotImplementedError

    @task
    def arrive(self) -> None:
        intended = self._wait_for_schedule()
        self.pause(1.0 / self.rate)
        method, path, name, ok, body = self.request_args()
        if self._in_flight >= self.max_in_flight:
            self.environment.events.request.fire(
                request_type=method, name=name, response_time=0.0, response_length=0,
                exception=RuntimeError(f"skipped: {self.max_in_flight} requests in flight"),
                context={"intended_start": intended, "trace_id": ""}, start_time=time.time(),
                response=None, url=path)
            return
        self._in_flight += 1
        gevent.spawn(self._one, method, path, name, ok, body, intended)

    def _one(self, method: str, path: str, name: str, ok: Iterable[int], body: Any,
             intended: float) -> None:
        try:
            self.send(method, path, name=name, ok=ok, json=body, intended=intended)
        finally:
            self._in_flight -= 1


def _message(resp: ResponseContextManager) -> str:
    """The gateway's error message, or the start of the body."""
    try:
        body = resp.json()
        return str(body["error"]["message"])[:200]
    except Exception:  # noqa: BLE001 - not our JSON error: show what came back
        text = resp.text or ""
        return text[:200] if text else (str(resp.error) if resp.error else "no body")
