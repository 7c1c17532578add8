"""The two-person rule (issue 10 item 4): a step of a sensitive runbook waits for approvals by
registered people with the approve permission, not the one who asked, each with a fresh TOTP
code, as many as the runbook says; a self-approval is refused saying who may approve; a
rejection ends it at once; a code is spent once. Through the API the caller is the approver."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from controlplane.application import access
from controlplane.application.runbooks import decide
from controlplane.errors import InvalidInput
from controlplane.security import totp
from controlplane.security.roles import roles
from controlplane.server import ServerSettings
from controlplane.store import Store, db_path
from tests.runbooks.test_executor import CALLS, _engine, _in_thread, _rb, _step
from tests.server.conftest import serving
from tests.support.net import wait_for

SENSITIVE = {"mode": "approval", "sensitive": True, "approvers": 2}


@pytest.fixture
def store(tmp_path: Path):
    CALLS.clear()
    with Store(db_path(tmp_path)) as s:
        yield s


def _people(store: Store) -> dict[str, str]:
    """name -> TOTP secret: two operators, an SRE and a viewer."""
    secrets = {}
    for name, role in (("olga", "operator"), ("bob", "operator"), ("carol", "sre"),
                       ("vera", "viewer")):
        _, secret = access.add_user(store, roles(), name, role, True, "cli:test")
        assert secret is not None
        secrets[name] = secret
    return secrets


def _code(secrets: dict[str, str], name: str, store: Store) -> str:
    return totp.code_at(secrets[name], store.now())


def _waiting(store: Store, asked_by: str):
    rb = _rb([_step("failover", "test.do", {"label": "failover"})], **SENSITIVE)
    eng = _engine(store)
    run = eng.start_manual(rb, asked_by)
    box = _in_thread(eng, run, rb)
    wait_for("waiting for approval",
             lambda: store.get_runbook_run(run.id).state == "waiting_approval" or None, 10)
    return run, box


def test_two_other_people_with_fresh_codes_approve_and_the_step_runs(store) -> None:
    people = _people(store)
    run, box = _waiting(store, "operator:olga")
    with pytest.raises(InvalidInput, match=r"olga asked for this run, so another person must "
                                           r"approve it .*any of bob, carol"):
        decide(store, run.id, None, reject=False, actor="olga",
               totp_code=_code(people, "olga", store))
    with pytest.raises(InvalidInput, match="not a registered person who may approve"):
        decide(store, run.id, None, reject=False, actor="vera",
               totp_code=_code(people, "vera", store))
    with pytest.raises(InvalidInput, match="needs a fresh TOTP code"):
        decide(store, run.id, None, reject=False, actor="bob")
    with pytest.raises(InvalidInput, match="wrong, expired or already used"):
        decide(store, run.id, None, reject=False, actor="bob", totp_code="000000"
               if _code(people, "bob", store) != "000000" else "111111")
    assert CALLS == []
    first = decide(store, run.id, None, reject=False, actor="bob",
                   totp_code=_code(people, "bob", store))
    assert (first.decision, first.have, first.needed) == ("pending", 1, 2)
    with pytest.raises(InvalidInput, match="bob already voted"):
        decide(store, run.id, None, reject=False, actor="bob",
               totp_code=totp.code_at(people["bob"], store.now() + 30))
    assert CALLS == []                                 # one approval of two: nothing yet
    second = decide(store, run.id, None, reject=False, actor="carol",
                    totp_code=_code(people, "carol", store))
    assert (second.decision, second.actor) == ("approve", "bob, carol")
    box["thread"].join(10)
    assert box["run"].state == "succeeded" and CALLS == ["failover"]
    votes = [e.action for e in store.audit_entries() if e.action.startswith("runbook.vote")]
    assert votes == ["runbook.vote.approve", "runbook.vote.approve"]


def test_one_rejection_ends_it_and_a_code_is_spent_once(store) -> None:
    people = _people(store)
    run, box = _waiting(store, "operator:olga")
    code = _code(people, "bob", store)
    assert decide(store, run.id, None, reject=True, actor="bob", totp_code=code,
                  reason="not now").decision == "reject"
    box["thread"].join(10)
    assert box["run"].state == "rejected" and CALLS == []
    again, box = _waiting(store, "operator:olga")
    with pytest.raises(InvalidInput, match="already used"):
        decide(store, again.id, None, reject=False, actor="bob", totp_code=code)
    decide(store, again.id, None, reject=True, actor="carol",
           totp_code=_code(people, "carol", store))
    box["thread"].join(10)


def test_through_the_api_the_caller_is_the_approver(tmp_path: Path) -> None:
    CALLS.clear()
    with serving(ServerSettings(port=0, state_dir=tmp_path), time.time) as server, \
            Store(db_path(tmp_path)) as store:
        people = _people(store)
        tokens = {n: access.create_token(store, n, 3600, "", "cli:test")[1]
                  for n in ("olga", "bob", "vera")}
        run, box = _waiting(store, "olga")          # olga asked, through the API

        def post(name: str, verb: str, body: dict) -> tuple[int, dict]:
            status, _, reply = server.request(
                f"/api/v1/runbooks/runs/{run.id}/{verb}", json.dumps(body).encode(),
                {"Content-Type": "application/json",
                 "Authorization": f"Bearer {tokens[name]}"})
            return status, json.loads(reply)
        status, reply = post("olga", "approve", {"totp": _code(people, "olga", store)})
        assert status == 400 and "another person must approve" in reply["error"]["message"]
        assert post("vera", "approve", {"totp": "123456"})[0] == 403   # a viewer
        status, reply = post("bob", "approve", {"totp": _code(people, "bob", store),
                                                "reason": "checked the lag"})
        assert status == 200 and reply["decision"] == "pending", reply
        status, reply = post("bob", "reject", {"totp": "12"})
        assert status == 400 and reply["error"]["field"] == "totp"
        status, reply = post("bob", "approve", {"step": "first"})
        assert status == 400 and reply["error"]["field"] == "step"
        decide(store, run.id, None, reject=True, actor="carol",
               totp_code=_code(people, "carol", store))
        box["thread"].join(10)
        assert box["run"].state == "rejected"


def test_a_vote_survives_a_restart_and_the_second_person_completes_it(tmp_path: Path) -> None:
    """The votes are in the store: the service that took the first approval restarts (its
    connection closes, a new one opens) and loses none; the same person still cannot vote
    twice. The engine waiting on the step keeps its own connection throughout."""
    CALLS.clear()
    with Store(db_path(tmp_path)) as engine_store:
        people = _people(engine_store)
        run, box = _waiting(engine_store, "operator:olga")
        with Store(db_path(tmp_path)) as service:
            assert decide(service, run.id, None, reject=False, actor="bob",
                          totp_code=_code(people, "bob", service)).decision == "pending"
        with Store(db_path(tmp_path)) as restarted:
            with pytest.raises(InvalidInput, match="bob already voted"):
                decide(restarted, run.id, None, reject=False, actor="bob",
                       totp_code=totp.code_at(people["bob"], restarted.now() + 30))
            done = decide(restarted, run.id, None, reject=False, actor="carol",
                          totp_code=_code(people, "carol", restarted))
            assert (done.decision, done.have) == ("approve", 2)
        box["thread"].join(10)
        assert box["run"].state == "succeeded" and CALLS == ["failover"]
