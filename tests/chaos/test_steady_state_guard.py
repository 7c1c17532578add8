"""The steady-state guard under a real chaoslib run, against a local HTTP server (no cluster):
it evaluates the hypothesis with the experiment's configuration and secrets, stops the method
on a breach, and stops it too when the hypothesis cannot be evaluated at all."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from chaoslib.run import Runner
from chaoslib.types import Schedule, Strategy

from controlplane.chaos.experiments import EXPERIMENTS_DIR, Experiment
from controlplane.chaos.guardrails import load_policy
from controlplane.chaos.outcome import RunOutcome, verdict
from controlplane.chaos.runner import ChaosRunner
from controlplane.chaos.steady_state_guard import Guard, HypothesisError, TimelineEvents, evaluate
from controlplane.errors import ClusterNotRunning
from controlplane.platform import open_platform
from tests.support.http import send_body

PAUSE_S = 8.0
TOKEN = "s3cret-token"


class Gateway:
    """A fake gateway: answers /v1/quotes per `mode` and remembers what it was asked."""

    def __init__(self) -> None:
        self.mode = "ok"                # ok / down / garbage
        self.seen: list[tuple[str, str | None]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gateway.seen.append((self.path, self.headers.get("Authorization")))
                status = 503 if gateway.mode == "down" else 200
                body = b"{not json" if gateway.mode == "garbage" else b'{"ok": true}'
                send_body(self, status, body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    thread = threading.Thread(target=gw.server.serve_forever, daemon=True)
    thread.start()
    yield gw
    gw.server.shutdown()
    gw.server.server_close()


def _experiment(url: str) -> dict[str, Any]:
    quiet = {"type": "process", "path": sys.executable, "arguments": "-c pass"}
    return {
        "version": "1.0.0", "title": "guarded quotes", "description": "guard unit test",
        "configuration": {"gateway_url": url},
        "secrets": {"gateway": {"token": TOKEN}},
        "steady-state-hypothesis": {"title": "quotes answer", "probes": [{
            "type": "probe", "name": "quotes-ok", "tolerance": 200,
            "provider": {"type": "http", "url": "${gateway_url}/v1/quotes", "timeout": 2,
                         "headers": {"Authorization": "Bearer ${token}"},
                         "secrets": ["gateway"]}}]},
        "method": [{"type": "action", "name": "hold", "provider": quiet,
                    "pauses": {"after": PAUSE_S}}],
        "rollbacks": [{"type": "action", "name": "undo", "provider": quiet}],
    }


class Harness:
    """What the guarded runner wires around chaoslib, with the revert counted."""

    def __init__(self, gateway: Gateway, then: str) -> None:
        self.gateway, self.then = gateway, then
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.reverts = 0
        self.experiment = _experiment(gateway.url)
        # the runner's own keys only, as the runner builds them: no gateway_url, no token
        self.guard = Guard(self.experiment, {"controlplane_run_id": "t"}, {}, 0.2,
                           self.record, self.revert, lambda: False)

    def record(self, kind: str, at: float, detail: dict[str, Any]) -> None:
        self.events.append((kind, detail))
        if kind == "method_started":
            threading.Timer(0.6, setattr, (self.gateway, "mode", self.then)).start()

    def revert(self) -> dict[str, Any]:
        self.reverts += 1
        return {"reverted": [], "verified": True}

    def run(self) -> tuple[dict[str, Any], float]:
        events = TimelineEvents(self.guard, self.record)
        self.guard.start()
        started = time.monotonic()
        try:
            with Runner(Strategy.DEFAULT, Schedule()) as runner:
                runner.register_event_handler(events)
                journal = runner.run(self.experiment,
                                     {"runtime": {"rollbacks": {"strategy": "always"}}},
                                     experiment_vars=({"controlplane_run_id": "t"}, {}))
        finally:
            self.guard.stop()
        return journal, time.monotonic() - started

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]


def test_the_guard_uses_the_experiments_configuration_and_secrets(gateway: Gateway) -> None:
    harness = Harness(gateway, then="down")
    journal, took = harness.run()
    during = gateway.seen[1:]           # the first request is chaoslib's before-check
    assert during, "the guard never reached the gateway"
    assert all(seen == ("/v1/quotes", f"Bearer {TOKEN}") for seen in gateway.seen)
    assert "deviation" in harness.kinds() and harness.reverts == 1
    assert journal["status"] == "interrupted" and took < PAUSE_S
    assert "rollbacks_completed" in harness.kinds()


def test_a_guard_that_cannot_evaluate_stops_the_method_and_reverts(gateway: Gateway) -> None:
    harness = Harness(gateway, then="garbage")     # a JSON body that does not parse
    journal, took = harness.run()
    assert harness.reverts == 1 and journal["status"] == "interrupted" and took < PAUSE_S
    error = dict(harness.events)["hypothesis_error"]
    assert error["phase"] == "guard" and "could not be evaluated" in error["message"]
    assert harness.kinds().index("hypothesis_error") < harness.kinds().index("rollbacks_started")


def test_evaluate_names_the_failure_and_the_verdict_is_aborted(gateway: Gateway) -> None:
    gateway.mode = "garbage"
    with pytest.raises(HypothesisError, match="could not be evaluated: JSONDecodeError"):
        evaluate(_experiment(gateway.url), {"gateway_url": gateway.url}, {})
    out = RunOutcome("r", "x.json", "t", [])
    out.events.append(("hypothesis_error", 1.0, {"phase": "guard", "message": "boom"}))
    state, reason = verdict(out, halted=False, chaos_status="interrupted", deviated=False,
                            steady_before=True, activity_error=None)
    assert state == "aborted" and reason.startswith("boom; the method was stopped")


def _runner(tmp_path: Path) -> ChaosRunner:
    policy = load_policy()
    calm = policy.model_copy(update={"freeze": policy.freeze.model_copy(
        update={"enabled": False})})
    return ChaosRunner(open_platform(tmp_path), calm)


def test_the_recovery_wait_uses_the_runs_configuration_and_secrets(gateway: Gateway,
                                                                   tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    harness = Harness(gateway, then="ok")
    harness.guard.configure({"gateway_url": gateway.url}, {"gateway": {"token": TOKEN}})
    out = RunOutcome("r1", "x.json", "t", [])
    runner.store.start_chaos_run("r1", "x.json", "t", [], None, os.getpid())
    exp = Experiment(tmp_path / "x.json", harness.experiment)
    runner._wait_recovery(exp, out, harness.guard)
    assert out.recovered_at is not None
    assert gateway.seen == [("/v1/quotes", f"Bearer {TOKEN}")]


def test_a_run_that_fails_outside_chaoslib_is_recorded_aborted(tmp_path: Path) -> None:
    runner = _runner(tmp_path)                  # no cluster runs in this state directory
    with pytest.raises(ClusterNotRunning):
        runner.run(EXPERIMENTS_DIR / "gateway" / "process-kill-gateway.json")
    [run] = runner.store.chaos_runs()
    assert run.state == "aborted" and "ClusterNotRunning" in run.reason
