"""The web UI in headless Chromium (Debian's package, driven by Playwright; no browser is
downloaded), against a real control-plane service on a free loopback port, over a store seeded
as after an incident: a failover drill with its timeline, alerts, a chaos run whose fault is
still in force on the fake platform, and a runbook run waiting for a two-person approval, whose
engine runs on a thread of its own and continues once the step is approved.

Prometheus is a local fake answering the SLI queries with set values (tests/support/
fake_prometheus.py), so the availability figures are known. Screenshots go to .artifacts/ui/.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from controlplane.application import access
from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.runbooks.actions import ACTIONS, action
from controlplane.runbooks.executor import RunbookEngine
from controlplane.runbooks.model import Runbook
from controlplane.security import totp
from controlplane.security.roles import roles
from controlplane.server import ServerSettings
from controlplane.slo.availability import today_window
from controlplane.slo.model import load_slos
from controlplane.slo.rules import sli_expr
from controlplane.store import Store, db_path
from controlplane.store.runbooks import RunbookRun
from tests.server.conftest import FakeClock, RunningServer, serving
from tests.support.credentials import bearer
from tests.support.fake_cluster import fake_cluster
from tests.support.fake_prometheus import FakePrometheus, fake_prometheus
from tests.support.net import wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "ui"
NOW = float(int(time.time()) // 30 * 30)        # on a TOTP step boundary
# the good share the fake Prometheus gives per window: 30 d below the objective
BAD_SHARE = {"today": 0.0, "7d": 0.00005, "30d": 0.00015}


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str


def _register() -> None:
    if "ui.note" in ACTIONS:
        return

    @action("ui.note", Note, "record a note (web UI tests)")
    def note(ctx: object, params: Note) -> dict:
        return {"noted": params.label}


@dataclass
class Seeded:
    server: RunningServer
    clock: FakeClock
    state: Path
    tokens: dict[str, str]           # user -> API token
    totp_secret: str                 # the operator's
    run: RunbookRun
    drill_id: int
    fault_id: int
    prometheus: FakePrometheus

    def totp_now(self) -> str:
        return totp.code_at(self.totp_secret, self.clock.now)


def _users(store: Store) -> tuple[dict[str, str], str]:
    tokens, secret = {}, None
    for name, role, with_totp in (("vera", "viewer", False), ("olga", "operator", True),
                                  ("sam", "sre", False)):
        _, made = access.add_user(store, roles(), name, role, with_totp, "cli:test")
        secret = made or secret
        tokens[name] = access.create_token(store, name, 86400, "ui test", "cli:test")[1]
    assert secret is not None
    return tokens, secret


def _drill(store: Store) -> int:
    drill = store.create_drill("ledger-failover", "ledger-0", {"load": "smoke"})
    t = NOW - 3600
    for dt, kind, detail in ((0, "load_started", {}), (5, "fault_injected", {"fault": "kill"}),
                             (7.5, "detected", {}), (9, "alerted", {"alert": "LedgerDown"}),
                             (10, "first_action", {"step": "promote"}), (12, "promoted", {}),
                             (18.4, "recovered", {}), (25, "rpo_checked", {"missing": 0})):
        store.add_drill_event(drill.id, t + dt, kind, detail)
    store.finish_drill(drill.id, "passed", {"rto_s": 13.4, "rpo_orders": 0, "acked_total": 4210,
                                            "detection_s": 2.5, "failover_s": 7.0,
                                            "verdict": "passed"})
    return drill.id


def _alerts(server: RunningServer) -> None:
    def iso(t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    body = [{"labels": {"alertname": "LedgerPrimaryDown", "severity": "page",
                        "service": "ledger"},
             "annotations": {"summary": "the ledger primary is down"},
             "startsAt": iso(NOW - 3595), "endsAt": iso(NOW - 3570)},
            {"labels": {"alertname": "GatewayErrorBudgetBurn", "severity": "warning",
                        "service": "gateway"},
             "annotations": {"summary": "order errors burn the budget 6x too fast"},
             "startsAt": iso(NOW - 600)}]
    status, _, reply = server.request("/api/v2/alerts", json.dumps(body).encode(),
                                      {"Content-Type": "application/json",
                                       **bearer("alert-intake")})
    assert status == 200 and json.loads(reply)["received"] == 2, reply


def _fault(state: Path) -> int:
    """A chaos run's fault in force on the fake platform, as a runner that crashed left it."""
    from controlplane.platform import open_platform

    platform = open_platform(state)
    engine = FaultEngine(FaultContext(platform, platform.workspace.store_path))
    try:
        engine.ctx.store.start_chaos_run("20261204T030000-uitest", "gateway/pause.json",
                                         "gateway paused (web UI test)", ["fault:process-pause"],
                                         pid=2 ** 22 + 7)       # no such process
        fault = engine.inject("process-pause", "gateway-0", {"duration_s": 600},
                              run_id="20261204T030000-uitest")
        assert fault.evidence.ok, fault.evidence
        return fault.id
    finally:
        engine.ctx.store.close()


RUNBOOK = {"name": "ledger-failover-ui", "description": "fail the ledger over (test)",
           "target": "ledger", "expected_rto_s": 60, "sensitive": True, "approvers": 1,
           "approval_timeout_s": 900,
           "steps": [{"name": "check-replicas", "action": "ui.note", "params": {"label": "a"}},
                     {"name": "promote-standby", "action": "ui.note",
                      "params": {"label": "b"}, "approval": True},
                     {"name": "verify-writes", "action": "ui.note", "params": {"label": "c"}}]}


def _waiting_run(state: Path) -> tuple[RunbookRun, threading.Thread]:
    _register()
    rb = Runbook.model_validate(RUNBOOK)
    store = Store(db_path(state))
    engine = RunbookEngine(object(), store, poll_s=0.05)     # type: ignore[arg-type]
    run = engine.start_manual(rb, "operator:sam")
    assert run is not None
    store.close()

    def execute() -> None:
        with Store(db_path(state)) as own:
            mine = copy.copy(engine)
            mine.store = own
            mine.execute(run, rb)
    thread = threading.Thread(target=execute, name="ui-runbook", daemon=True)
    thread.start()
    with Store(db_path(state)) as store:
        wait_for("the run waits for approval", lambda: store.get_runbook_run(run.id).state
                 == "waiting_approval" or None, 20)
    return run, thread


def _availability(prom: FakePrometheus, now: float) -> None:
    policy = load_slos()
    for slo in policy.slos:
        for window, bad in ((today_window(now), BAD_SHARE["today"]), ("7d", BAD_SHARE["7d"]),
                            ("30d", BAD_SHARE["30d"])):
            prom.values[sli_expr(slo, window)] = bad
        expr = f'slo:error_budget_remaining:ratio{{slo="{slo.name}"}}'
        left = 1 - BAD_SHARE["30d"] / slo.budget            # where the 30 d figure ends
        prom.ranges[expr] = [(now - 30 * 86400 + i * 6 * 3600, 1 - i * (1 - left) / 120)
                             for i in range(121)]


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    state = tmp_path / "ws"
    fake_cluster(state)
    clock = FakeClock(NOW)
    with Store(db_path(state)) as store:
        tokens, secret = _users(store)
        drill_id = _drill(store)
    fault_id = _fault(state)
    run, thread = _waiting_run(state)
    with fake_prometheus() as prom, \
            serving(ServerSettings(port=0, state_dir=state, prometheus_url=prom.url),
                    clock) as server:
        _availability(prom, NOW)
        _alerts(server)
        try:
            yield Seeded(server, clock, state, tokens, secret, run, drill_id, fault_id, prom)
        finally:
            _end_run(state, run)
            thread.join(20)


def _end_run(state: Path, run: RunbookRun) -> None:
    """A run the test left waiting is rejected, so its engine thread ends."""
    with Store(db_path(state)) as store:
        for step in store.runbook_steps(run.id):
            if step.state == "waiting":
                store.decide(run.id, step.idx, "reject", "test teardown", None)


# the browser ---------------------------------------------------------------------------------
def _chromium_children() -> list[int]:
    """Chromium processes descended from this one (none may outlive the suite)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
        names[int(entry.name)] = name
    mine = os.getpid()

    def descends(pid: int) -> bool:
        seen = 0
        while pid > 1 and seen < 64:
            pid, seen = parents.get(pid, 0), seen + 1
            if pid == mine:
                return True
        return False
    return [p for p, n in names.items() if "chrom" in n.lower() and descends(p)]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per module, not per session: Playwright's sync API keeps an asyncio loop
    running on this thread while it lives, and a later test's `asyncio.run` would fail."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()
    wait_for("no chromium process left", lambda: not _chromium_children() or None, 20)


@pytest.fixture
def page(browser: object, seeded: Seeded) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    try:
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
    finally:
        context.close()


def shot(page: object, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)      # type: ignore[attr-defined]
    return path


def sign_in(page: object, seeded: Seeded, user: str, with_totp: bool = False) -> None:
    sign_in_at(page, seeded.server.url, seeded.tokens[user],
               seeded.totp_now() if with_totp else None)


def sign_in_at(page: object, url: str, token: str, code: str | None = None) -> None:
    page.goto(url + "/")                                 # type: ignore[attr-defined]
    page.fill("#token", token)                           # type: ignore[attr-defined]
    if code is not None:
        page.fill("#signin-totp", code)                  # type: ignore[attr-defined]
    page.click("#signin button[type=submit]")            # type: ignore[attr-defined]
