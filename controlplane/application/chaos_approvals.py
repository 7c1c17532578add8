"""The two-person rule on experiments: a run under a guardrails profile that says
`approval: {required: true, approvers: N}` (the production profile) is first recorded as a
request, and injects nothing until N people other than the one who asked approved it, each a
registered person holding chaos:approve with a fresh TOTP code (the same check as a sensitive
runbook's step, `application.approvals`). The first rejection ends it.

`controlplane chaos run` under such a profile records the request (or takes the one
`--request` names, as a run launched through the service does), waits for the decision and
then releases it, spending the approval on this one run; `approve`/`reject` come from
`controlplane chaos approve` or `POST /api/v1/chaos/approvals/{id}/approve`. The requests and
votes are in the store, so a restart of the service or of the waiting terminal loses none."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from controlplane.application.approvals import check_second_person, tally, who_may_approve
from controlplane.application.events import Event, EventSink, discard
from controlplane.chaos.guardrails import Policy
from controlplane.errors import GuardrailRefused, InvalidInput
from controlplane.store import Store, iso
from controlplane.store.chaos_approvals import ChaosApproval

__all__ = ["PERMISSION", "ExperimentDecision", "approval_document", "await_release", "decide",
           "request_run", "waiting_message"]

PERMISSION = "chaos:approve"
RULE = "two-person-rule"
POLL_S = 0.5
SETTLED = {"approve": "approved", "reject": "rejected"}


@dataclass(frozen=True)
class ExperimentDecision:
    """What a vote did: the request `approve`d or `reject`ed, or still `pending` (`have` of
    `needed` approvals)."""

    request_id: int
    decision: str
    actor: str
    have: int
    needed: int


def request_run(store: Store, target: str, policy_file: Path, policy: Policy,
                requested_by: str) -> ChaosApproval:
    """Record that `requested_by` asks to run `target` under `policy` (its file), which
    requires approval; audited as chaos.approval.request."""
    return store.request_chaos_approval(target, str(policy_file.resolve()), requested_by,
                                        policy.approval.approvers)


def waiting_message(store: Store, request: ChaosApproval) -> str:
    """What a waiting request needs, naming who may approve and how."""
    voted = {v.actor for v in store.chaos_votes(request.id)}
    have = sum(1 for v in store.chaos_votes(request.id) if v.decision == "approve")
    return (f"chaos approval {request.id}: running {request.target} under "
            f"{Path(request.policy).name} needs {request.approvers - have} more approval"
            f"{'s' if request.approvers - have != 1 else ''} by a person other than "
            f"{request.requested_by}: "
            f"{who_may_approve(store, PERMISSION, request.requested_by, voted)}. Approve with "
            f"`controlplane chaos approve {request.id} --as NAME --totp CODE` or POST "
            f"/api/v1/chaos/approvals/{request.id}/approve")


def decide(store: Store, request_id: int, *, reject: bool, actor: str,
           reason: str | None = None, totp_code: str | None = None) -> ExperimentDecision:
    """One person's vote on a waiting request: approved once `approvers` people approved,
    rejected at the first rejection. Refused, naming who may approve, when `actor` asked for
    the run or lacks chaos:approve or a fresh TOTP code."""
    request = _waiting(store, request_id)
    check_second_person(store, actor, request.requested_by, totp_code,
                        {v.actor for v in store.chaos_votes(request_id)},
                        permission=PERMISSION, what="this experiment")
    votes = store.chaos_vote(request_id, actor, "reject" if reject else "approve", reason,
                             totp_code is not None)
    counted = tally(((v.actor, v.decision) for v in votes), request.approvers)
    by = actor if counted.decision != "approve" else ", ".join(counted.approvers)
    if counted.decision != "pending":
        store.settle_chaos_approval(request_id, SETTLED[counted.decision], by, reason)
    return ExperimentDecision(request_id, counted.decision, by, len(counted.approvers),
                              request.approvers)


def _waiting(store: Store, request_id: int) -> ChaosApproval:
    request = store.get_chaos_approval(request_id)
    if request is None:
        raise InvalidInput("no such chaos approval request", field="request_id",
                           value=request_id, fix="See `controlplane chaos approvals`")
    if request.state != "waiting":
        raise InvalidInput(f"chaos approval {request_id} waits for no vote (it is "
                           f"{request.state})", field="request_id", value=request_id)
    return request


def await_release(store: Store, target: str, policy_file: Path, policy: Policy,
                  requested_by: str, request_id: int | None = None, wait_s: float = 0,
                  sink: EventSink = discard, sleep: Callable[[float], None] = time.sleep
                  ) -> ChaosApproval | None:
    """Gate a run of `target` under `policy`: None when the profile needs no approval;
    otherwise the request (`request_id`'s, or a new one), waited on up to `wait_s` and
    released for this run once approved. GuardrailRefused when it is still waiting (the
    message names who may approve), rejected or already released; InvalidInput when it is
    for another run."""
    if request_id is None and not policy.approval.required:
        return None
    if request_id is None:
        request = request_run(store, target, policy_file, policy, requested_by)
    else:
        request = _matching(store, request_id, target, policy_file)
    if request.state == "waiting":
        sink(Event("chaos", "approval_waiting", waiting_message(store, request),
                   record=str(request.id), data={"request_id": request.id}))
    request = _wait(store, request, wait_s, sleep)
    if request.state == "waiting":
        raise GuardrailRefused(RULE, waiting_message(store, request),
                               f"Once approved, run it with --request {request.id}")
    if request.state != "approved":
        raise GuardrailRefused(RULE, f"chaos approval {request.id} is {request.state}"
                               f"{' by ' + request.decided_by if request.decided_by else ''}"
                               f"{': ' + request.reason if request.reason else ''}",
                               "Ask again: run it without --request for a new request")
    released = store.settle_chaos_approval(request.id, "released", requested_by,
                                           was="approved")
    sink(Event("chaos", "approval_released", f"chaos approval {request.id}: approved by "
               f"{request.decided_by}; running {target}", record=str(request.id),
               data={"request_id": request.id, "approved_by": request.decided_by}))
    return released


def _matching(store: Store, request_id: int, target: str, policy_file: Path
              ) -> ChaosApproval:
    request = store.get_chaos_approval(request_id)
    if request is None:
        raise InvalidInput("no such chaos approval request", field="--request",
                           value=request_id, fix="See `controlplane chaos approvals`")
    if (request.target, request.policy) != (target, str(policy_file.resolve())):
        raise InvalidInput(f"chaos approval {request_id} is for {request.target} under "
                           f"{request.policy}", field="--request", value=request_id,
                           fix="Run what it was asked for, or ask for a new approval")
    return request


def _wait(store: Store, request: ChaosApproval, wait_s: float,
          sleep: Callable[[float], None]) -> ChaosApproval:
    deadline = time.monotonic() + wait_s
    while request.state == "waiting" and time.monotonic() < deadline:
        sleep(POLL_S)
        found = store.get_chaos_approval(request.id)
        assert found is not None
        request = found
    return request


def approval_document(store: Store, request: ChaosApproval) -> dict[str, Any]:
    """A request as the API and `--json` show it, with its votes."""
    return {**asdict(request), "requested_at_iso": iso(request.requested_at),
            "decided_at_iso": iso(request.decided_at),
            "votes": [asdict(v) for v in store.chaos_votes(request.id)]}
