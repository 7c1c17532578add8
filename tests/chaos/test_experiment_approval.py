"""The two-person rule on experiments (issue 10 item 4): under a guardrails profile that says
`approval: {required: true, approvers: N}` (the production one), a run is first a request and
injects nothing until N people other than the one who asked approved it, each with a fresh
TOTP code; a self-approval is refused naming who may approve; the first rejection ends it;
an approval releases one run. From the CLI (`chaos run` refuses naming who may approve,
`chaos approve`, `chaos run --request`) and through the service, across a restart of it."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from controlplane.application import access
from controlplane.application import chaos as chaos_usecases
from controlplane.application.chaos_approvals import await_release, decide
from controlplane.chaos.guardrails import Policy, load_policy
from controlplane.chaos.suite import SuiteResult
from controlplane.cli import cli
from controlplane.errors import GuardrailRefused, InvalidInput
from controlplane.project import project_file
from controlplane.security import totp
from controlplane.security.roles import roles
from controlplane.server import ServerSettings
from controlplane.store import Store, db_path
from tests.server.conftest import RunningServer, serving
from tests.support.fake_cluster import fake_cluster
from tests.support.net import wait_for

PRODUCTION = project_file("policies/chaos-guardrails.production.yaml")
KILL = "gateway/process-kill-gateway.json"
TARGET = str(project_file("experiments") / KILL)


@pytest.fixture
def store(tmp_path: Path):
    with Store(db_path(tmp_path)) as s:
        yield s


def _people(store: Store) -> dict[str, str]:
    """name -> TOTP secret: an SRE who asks, two operators, another SRE and a viewer."""
    found = {}
    for name, role in (("olga", "sre"), ("bob", "operator"), ("dave", "operator"),
                       ("carol", "sre"), ("vera", "viewer")):
        _, secret = access.add_user(store, roles(), name, role, True, "cli:test")
        assert secret is not None
        found[name] = secret
    return found


def _code(people: dict[str, str], name: str) -> str:
    return totp.code_at(people[name], time.time())


def _policy(approvers: int) -> Policy:
    production = load_policy(PRODUCTION)
    return production.model_copy(update={"approval": production.approval.model_copy(
        update={"approvers": approvers})})


def test_the_production_profile_requires_approval_and_the_lab_does_not() -> None:
    assert load_policy(PRODUCTION).approval.required
    assert not load_policy(None).approval.required


def test_a_self_approval_is_refused_naming_who_may_approve(store: Store) -> None:
    people = _people(store)
    with pytest.raises(GuardrailRefused, match="needs 1 more approval by a person other than "
                       "olga: any of bob, carol, dave"):
        await_release(store, TARGET, PRODUCTION, _policy(1), "olga")
    [asked] = store.chaos_approvals()
    assert asked.state == "waiting"
    with pytest.raises(InvalidInput, match=r"olga asked for this experiment, so another person "
                       r"must approve it \(the two-person rule\): any of bob, carol, dave "
                       r"\(roles holding chaos:approve: admin, operator, sre\)"):
        decide(store, asked.id, reject=False, actor="olga",
               totp_code=_code(people, "olga"))
    with pytest.raises(InvalidInput, match="vera is not a registered person who may approve"):
        decide(store, asked.id, reject=False, actor="vera",
               totp_code=_code(people, "vera"))
    with pytest.raises(InvalidInput, match="needs a fresh TOTP code"):
        decide(store, asked.id, reject=False, actor="bob")
    assert store.get_chaos_approval(asked.id).state == "waiting"
    actions = [e.action for e in store.audit_entries()]
    assert "chaos.approval.request" in actions and not any(
        a.startswith("chaos.vote") for a in actions)


def test_as_many_approvers_as_the_profile_says_then_one_run_is_released(store: Store) -> None:
    people = _people(store)
    policy = _policy(2)
    with pytest.raises(GuardrailRefused, match="needs 2 more approvals"):
        await_release(store, TARGET, PRODUCTION, policy, "cli:olga")
    [asked] = store.chaos_approvals()
    first = decide(store, asked.id, reject=False, actor="bob",
                   totp_code=_code(people, "bob"))
    assert (first.decision, first.have, first.needed) == ("pending", 1, 2)
    with pytest.raises(InvalidInput, match="bob already voted"):
        decide(store, asked.id, reject=False, actor="bob",
               totp_code=totp.code_at(people["bob"], time.time() + 30))
    with pytest.raises(GuardrailRefused, match="needs 1 more approval by a person other than "
                       "cli:olga: any of carol, dave"):
        await_release(store, TARGET, PRODUCTION, policy, "cli:olga", asked.id)
    second = decide(store, asked.id, reject=False, actor="carol",
                    totp_code=_code(people, "carol"))
    assert (second.decision, second.actor, second.have) == ("approve", "bob, carol", 2)
    released = await_release(store, TARGET, PRODUCTION, policy, "cli:olga", asked.id)
    assert released is not None and released.state == "released"
    with pytest.raises(GuardrailRefused, match="is released"):      # spent on one run
        await_release(store, TARGET, PRODUCTION, policy, "cli:olga", asked.id)
    with pytest.raises(InvalidInput, match="is for"):
        await_release(store, "fault=network-latency", PRODUCTION, policy, "cli:olga",
                      asked.id)
    actions = [e.action for e in store.audit_entries() if e.action.startswith("chaos.")]
    assert actions == ["chaos.approval.request", "chaos.vote.approve", "chaos.vote.approve",
                       "chaos.approval.approved", "chaos.approval.released"]


def test_a_rejection_ends_it(store: Store) -> None:
    people = _people(store)
    with pytest.raises(GuardrailRefused):
        await_release(store, TARGET, PRODUCTION, _policy(2), "olga")
    [asked] = store.chaos_approvals()
    done = decide(store, asked.id, reject=True, actor="dave", reason="market open",
                  totp_code=_code(people, "dave"))
    assert done.decision == "reject"
    with pytest.raises(GuardrailRefused, match="is rejected by dave: market open"):
        await_release(store, TARGET, PRODUCTION, _policy(2), "olga", asked.id)
    with pytest.raises(InvalidInput, match="waits for no vote"):
        decide(store, asked.id, reject=False, actor="bob", totp_code=_code(people, "bob"))


def test_a_waiting_run_proceeds_once_another_person_approves(tmp_path: Path,
                                                             store: Store) -> None:
    """`chaos run --wait-approval`: the waiting side sees the approval given elsewhere."""
    people = _people(store)
    box: dict[str, object] = {}

    def wait() -> None:
        with Store(db_path(tmp_path)) as own:
            box["released"] = await_release(own, TARGET, PRODUCTION, _policy(1), "olga",
                                            wait_s=20, sleep=lambda _: time.sleep(0.05))
    waiter = threading.Thread(target=wait)
    waiter.start()
    asked = wait_for("the request", lambda: next(iter(store.chaos_approvals()), None), 10)
    decide(store, asked.id, reject=False, actor="bob", totp_code=_code(people, "bob"))
    waiter.join(20)
    assert getattr(box["released"], "state", None) == "released"


def test_the_cli_refuses_naming_who_may_approve_then_runs_once_approved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cluster(tmp_path)
    with Store(db_path(tmp_path)) as store:
        people = _people(store)
    ran: list[list[Path]] = []

    def run_experiments(platform, policy, paths, report_dir=None, sink=None):
        ran.append(paths)                       # the point before any fault is injected
        return SuiteResult("suite", [], {}, 0)
    monkeypatch.setattr(chaos_usecases, "run_experiments", run_experiments)
    monkeypatch.setenv("CONTROLPLANE_ACTOR", "olga")
    runner = CliRunner()
    base = ["--state-dir", str(tmp_path)]
    refused = runner.invoke(cli, ["chaos", "run", TARGET, "--policy", str(PRODUCTION), *base])
    text = " ".join(f"{refused.output} {refused.exception}".split())
    assert isinstance(refused.exception, GuardrailRefused), refused.output
    assert refused.exception.exit_code == 4                     # what `main` exits with
    assert "refused by guardrail 'two-person-rule'" in text and "--request 1" in text
    assert "any of bob, carol, dave (roles holding chaos:approve" in text
    assert "controlplane chaos approve 1 --as NAME --totp CODE" in text and ran == []
    with Store(db_path(tmp_path)) as store:
        code = _code(people, "bob")
    approved = runner.invoke(cli, ["chaos", "approve", "1", "--as", "bob", "--totp", code,
                                   *base])
    assert approved.exit_code == 0 and "approved by bob" in approved.output, approved.output
    listed = runner.invoke(cli, ["chaos", "approvals", "--json", *base])
    assert json.loads(listed.stdout)["approvals"][0]["state"] == "approved"
    done = runner.invoke(cli, ["chaos", "run", TARGET, "--policy", str(PRODUCTION),
                               "--request", "1", *base])
    assert done.exit_code == 0, done.output
    assert ran == [[Path(TARGET)]]
    with Store(db_path(tmp_path)) as store:
        assert store.get_chaos_approval(1).state == "released"


# through the service ---------------------------------------------------------------------
def _call(server: RunningServer, token: str, path: str, body: dict | None = None
          ) -> tuple[int, dict]:
    status, _, reply = server.request(
        path, None if body is None else json.dumps(body).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    return status, json.loads(reply)


def test_through_the_service_a_launched_run_waits_across_a_restart_then_is_released(
        tmp_path: Path) -> None:
    fake_cluster(tmp_path)
    with Store(db_path(tmp_path)) as store:
        people = _people(store)
        tokens = {n: access.create_token(store, n, 3600, "", "cli:test")[1]
                  for n in ("olga", "bob", "vera")}
    settings = ServerSettings(port=0, state_dir=tmp_path)
    pid = None
    try:
        with serving(settings, time.time) as server:
            status, launch = _call(server, tokens["olga"], "/api/v1/chaos/runs",
                                   {"experiments": KILL, "policy": "production"})
            assert status == 202 and launch["approval"] == 1, launch
            pid = launch["pid"]
            assert launch["argv"][:3] == ["chaos", "run", TARGET]
            assert "--request" in launch["argv"] and str(PRODUCTION) in launch["argv"]
            status, reply = _call(server, tokens["olga"], "/api/v1/chaos/approvals/1/approve",
                                  {"totp": _code(people, "olga")})
            assert status == 400 and "another person must approve" in reply["error"]["message"]
            assert "any of bob, carol, dave" in reply["error"]["message"]
            assert _call(server, tokens["vera"], "/api/v1/chaos/approvals/1/approve",
                         {"totp": "123456"})[0] == 403
        with serving(settings, time.time) as restarted:           # the service restarts
            status, listed = _call(restarted, tokens["vera"],
                                   "/api/v1/chaos/approvals?state=waiting")
            assert status == 200 and [a["id"] for a in listed["approvals"]] == [1], listed
            status, vote = _call(restarted, tokens["bob"], "/api/v1/chaos/approvals/1/approve",
                                 {"totp": _code(people, "bob"), "reason": "checked"})
            assert status == 200 and (vote["decision"], vote["actor"]) == ("approve", "bob")
            # the launched `chaos run --request 1`, which outlived the first service, goes on
            done = wait_for("the launched run to be released", lambda: (
                r if (r := _call(restarted, tokens["vera"], "/api/v1/chaos/approvals/1")[1]
                      )["state"] == "released" else None), timeout=60, interval=0.3)
            assert [v["actor"] for v in done["votes"]] == ["bob"]
    finally:
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)          # the launch we started, by its id
            except ProcessLookupError:
                pass
