"""The web UI's acceptance (issue 11), in headless Chromium against the service on the fake
cluster: a viewer sees availability, the error budget and the drill's RTO/RPO and gets no
approve or halt control (and the API refuses the viewer too); an operator approves a step of
a two-person runbook with a TOTP code and sees the run continue, and presses the emergency
halt and sees every fault verified reverted; an SRE sees the catalogue filtered by tags. Each
view saves a screenshot under .artifacts/ui/.

Not covered here: a real cluster after a real failover drill and GameDay (the fake platform
and a fake Prometheus stand in), and the print layout's rendering (only that it exists)."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from controlplane.store import Store, db_path
from tests.support.credentials import bearer

from .conftest import Seeded, shot, sign_in


def test_a_viewer_sees_availability_budget_and_the_drills_rto_rpo(page: Page,
                                                                  seeded: Seeded) -> None:
    sign_in(page, seeded, "vera")
    expect(page.locator("#who")).to_have_text("vera (viewer)")
    row = page.locator('#availability tr[data-slo="order-availability"]')
    expect(row).to_contain_text("100.000%")                  # today
    expect(row).to_contain_text("99.995%")                   # 7 days
    expect(row).to_contain_text("99.985%")                   # 30 days, under 99.99%
    expect(row.locator(".budget")).to_contain_text("-50.0%")  # overspent by half
    expect(page.locator("svg.burn-down").first).to_be_visible()
    expect(page.locator("svg.incidents rect")).to_have_count(2)
    drill = page.locator(f'#drills tr[data-drill="{seeded.drill_id}"]')
    expect(drill.locator(".rto")).to_contain_text("13.40 s within target")
    expect(drill.locator(".rpo")).to_contain_text("0 orders within target")
    expect(page.locator("#print-report")).to_be_visible()
    shot(page, "availability-viewer")

    page.click(f'#drills a[href="#/drill/{seeded.drill_id}"]')
    expect(page.locator("#drill-timeline circle")).to_have_count(8)
    expect(page.locator("#drill-measures")).to_contain_text("13.40 s")
    expect(page.locator("#rpo-row")).to_contain_text("0 orders")
    expect(page.locator("#reconciled")).to_contain_text("4210 orders acknowledged")
    shot(page, "drill")


def test_a_viewer_gets_no_approve_or_halt_control_and_the_api_refuses_them(
        page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded, "vera")
    expect(page.locator("#who")).to_have_text("vera (viewer)")
    page.click('#nav a[data-view="oncall"]')
    run = page.locator(f'.run[data-run="{seeded.run.id}"]')
    expect(run).to_contain_text("waits for an on-call approval")
    expect(page.locator("#firing")).to_contain_text("GatewayErrorBudgetBurn")
    expect(page.locator("#halt-state")).to_have_text("chaos allowed")
    for control in ("button.approve", "button.reject", "#emergency-halt", "#pause-automation"):
        expect(page.locator(control)).to_have_count(0)
    shot(page, "oncall-viewer")
    csrf = page.evaluate("sessionStorage.getItem('csrf')")
    for path, body in ((f"/api/v1/runbooks/runs/{seeded.run.id}/approve", {"step": 1}),
                       ("/api/v1/chaos/halt", {})):
        reply = page.request.post(seeded.server.url + path, data=json.dumps(body), headers={
            "Content-Type": "application/json", "X-CSRF-Token": csrf})
        assert reply.status == 403, reply.text()
        assert "lacks the permission" in reply.json()["error"]["message"]
    with Store(db_path(seeded.state)) as store:
        assert store.get_runbook_run(seeded.run.id).state == "waiting_approval"
        assert not store.halt_state().halted


def test_an_operator_approves_a_waiting_step_with_totp_and_the_run_continues(
        page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded, "olga", with_totp=True)
    expect(page.locator("#who")).to_have_text("olga (operator)")
    page.click('#nav a[data-view="oncall"]')
    run = page.locator(f'.run[data-run="{seeded.run.id}"]')
    expect(run.locator(".run-state")).to_have_text("waiting_approval")
    expect(run).to_contain_text("two-person rule")
    shot(page, "oncall-operator")
    seeded.clock.now += 30                  # the login spent this step's TOTP code
    run.locator(".decision-totp").fill(seeded.totp_now())
    run.locator(".decision-reason").fill("standby is in sync")
    run.locator("button.approve").click()
    expect(run.locator(".run-state")).to_have_text("succeeded", timeout=20_000)
    verify = run.locator("tr[data-step]", has_text="verify-writes")
    expect(verify.locator(".step-state")).to_have_text("succeeded")     # after the approval
    expect(run.locator('tr[data-step-state="approved"]')).to_contain_text("olga")
    shot(page, "oncall-approved")
    page.fill("#pause-reason", "market close")
    page.click("#pause-automation")
    expect(page.locator("#automation-state")).to_contain_text("paused by olga")
    expect(page.locator("#automation-state")).to_contain_text("market close")
    page.click("#resume-automation")
    expect(page.locator("#automation-state")).to_contain_text("automation on")


def test_an_operator_halts_every_chaos_run_and_sees_each_fault_verified_reverted(
        page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded, "olga", with_totp=True)
    page.click('#nav a[data-view="oncall"]')
    expect(page.locator("#chaos")).to_contain_text("process-pause")      # in force
    page.click("#emergency-halt")
    expect(page.locator("#halt-outcome")).to_have_count(0)              # asked to confirm
    page.click("#confirm-halt")
    outcome = page.locator("#halt-outcome")
    expect(outcome).to_contain_text("every fault verified reverted", timeout=30_000)
    fault = outcome.locator(f'tr[data-fault="{seeded.fault_id}"]')
    expect(fault).to_contain_text("verified reverted")
    expect(outcome.locator('tr[data-verified="false"]')).to_have_count(0)
    expect(page.locator("#halt-state")).to_contain_text("chaos halted")
    shot(page, "oncall-halted")
    with Store(db_path(seeded.state)) as store:
        assert store.open_faults() == [] and store.halt_state().halted


def test_an_sre_filters_the_catalogue_by_tags_and_has_the_launch_forms(
        page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded, "sam")
    expect(page.locator("#who")).to_have_text("sam (sre)")
    page.click('#nav a[data-view="sre"]')
    rows = page.locator("#catalogue tr[data-experiment]")
    expect(rows.first).to_be_visible()
    total = rows.count()
    page.fill("#tag-filter", "fault:process-kill")
    expect(rows.first).to_contain_text("process-kill")
    assert 0 < rows.count() < total
    page.fill("#tag-filter", "")
    page.click('.chip[data-tag="component:ledger"]')
    page.click('.chip[data-tag="severity:critical"]')                # both tags
    expect(rows.first).to_contain_text("component:ledger")
    assert all("severity:critical" in t for t in rows.all_inner_texts())
    expect(page.locator("#drill-kind")).to_be_visible()
    expect(page.get_by_text("no preview API yet")).to_be_visible()
    shot(page, "sre")


def test_the_page_and_its_files_are_served_and_anything_else_is_404(seeded: Seeded) -> None:
    server = seeded.server
    status, headers, body = server.request("/", auth=False)
    assert status == 200 and b"<title>controlplane</title>" in body    # followed to /ui/
    status, headers, _ = server.request("/ui/app.js", auth=False)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert server.request("/ui/..%2Fapp.py", auth=False)[0] == 404
    assert server.request("/ui/nothing.js", auth=False)[0] == 404
    status, _, body = server.request("/api/v1/availability", headers=bearer("viewer"))
    assert status == 200 and json.loads(body)["prometheus"] == seeded.prometheus.url
