"""The web UI's acceptance on the real reference cluster (issue 11): after a failover drill
and a short GameDay (one experiment), a viewer sees availability figures from the cluster's
Prometheus, the error budget and the drill's measured RTO/RPO, with no halt control; an
operator presses the emergency halt and sees a real fault (a paused gateway, injected
through the application layer) verified reverted.

Not covered here: approving a runbook step on the cluster (the fake-cluster test does it); the
figures' values (they depend on this machine's run), only that they are figures, not "no data".
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect

from controlplane.application import access
from controlplane.application.drills import ledger_failover_drill
from controlplane.application.gameday import settle
from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.chaos.experiments import EXPERIMENTS_DIR
from controlplane.drills.model import DrillSettings
from controlplane.platform import Platform
from controlplane.security import totp
from controlplane.security.roles import roles
from controlplane.server import ServerSettings
from controlplane.store import Store
from tests.server.conftest import serving
from tests.support.cluster import cluster  # noqa: F401  (the fixture)

from .conftest import shot, sign_in_at

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]


def _drill(platform: Platform) -> int:
    """The failover drill, on a thread of its own: Playwright's sync API keeps an event loop
    running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_drill_and_gameday, platform).result()


def _drill_and_gameday(platform: Platform) -> int:
    with Store(platform.workspace.store_path) as store:
        outcome = asyncio.run(ledger_failover_drill(platform, store, DrillSettings()))
    assert outcome.drill_id is not None and outcome.rto.recovered, outcome
    return outcome.drill_id


def _short_gameday(platform: Platform) -> None:
    """One experiment through `controlplane chaos run`, in a process of its own: Chaos
    Toolkit sets signal handlers, which only the main thread of a process may do. First the
    failover's slow answers leave the latency window the steady-state probe reads, as the
    GameDay use case waits for them."""
    settle(platform)
    done = subprocess.run([sys.executable, "-m", "controlplane", "chaos", "run",
                           str(EXPERIMENTS_DIR / "gateway" / "process-kill-gateway.json"),
                           "--state-dir",
                           str(platform.workspace.root)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])


def _paused_gateway(platform: Platform, runner_pid: int) -> int:
    """A paused gateway recorded as the fault of a chaos run whose runner is `runner_pid`: a
    live process, or the reaper would revert the fault of a dead runner before the test looks
    (seen under CI's load), and not the test's own, which the halt signals."""
    engine = FaultEngine(FaultContext(platform, platform.workspace.store_path))
    try:
        engine.ctx.store.start_chaos_run("20261204T040000-uie2e", "gateway/pause.json",
                                         "gateway paused (web UI e2e)", [], pid=runner_pid)
        fault = engine.inject("process-pause", "gateway-0", {"duration_s": 120},
                              run_id="20261204T040000-uie2e")
        assert fault.evidence.ok, fault.evidence
        return fault.id
    finally:
        engine.ctx.store.close()


def test_after_a_drill_and_a_gameday_the_ui_shows_the_evidence_and_halts_a_real_fault(
        cluster: Platform, browser: object, tmp_path: Path) -> None:  # noqa: F811
    drill_id = _drill(cluster)
    _short_gameday(cluster)
    with Store(cluster.workspace.store_path) as store:
        access.add_user(store, roles(), "vera", "viewer", False, "cli:test")
        _, secret = access.add_user(store, roles(), "olga", "operator", True, "cli:test")
        viewer = access.create_token(store, "vera", 3600, "", "cli:test")[1]
        operator = access.create_token(store, "olga", 3600, "", "cli:test")[1]
    assert secret is not None
    runner = subprocess.Popen(["sleep", "600"])
    try:
        _halt_through_the_ui(cluster, browser, drill_id, viewer, operator, secret,
                             _paused_gateway(cluster, runner.pid))
    finally:
        runner.kill()
        runner.wait()
    with Store(cluster.workspace.store_path) as store:
        assert store.open_faults() == []


def _halt_through_the_ui(platform: Platform, browser: object, drill_id: int, viewer: str,
                         operator: str, secret: str, fault_id: int) -> None:
    with serving(ServerSettings(port=0, state_dir=platform.workspace.root), time.time) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            sign_in_at(page, server.url, viewer)
            row = page.locator('#availability tr[data-slo="order-availability"]')
            expect(row).to_contain_text("%")
            expect(row.locator("td").nth(3)).not_to_contain_text("no data")     # today
            drill = page.locator(f'#drills tr[data-drill="{drill_id}"]')
            expect(drill.locator(".rto")).to_contain_text(" s ")
            expect(drill.locator(".rpo")).to_contain_text("0 orders within target")
            shot(page, "cluster-availability")
            page.click('#nav a[data-view="oncall"]')
            expect(page.locator("#chaos")).to_contain_text("process-pause")
            expect(page.locator("#emergency-halt")).to_have_count(0)
            page.click("#signout")
            sign_in_at(page, server.url, operator, totp.code_at(secret, time.time()))
            page.click('#nav a[data-view="oncall"]')
            page.click("#emergency-halt")
            page.click("#confirm-halt")
            outcome = page.locator("#halt-outcome")
            expect(outcome).to_contain_text("every fault verified reverted", timeout=60_000)
            expect(outcome.locator(f'tr[data-fault="{fault_id}"]')).to_contain_text(
                "verified reverted")
            shot(page, "cluster-halted")
        finally:
            context.close()
