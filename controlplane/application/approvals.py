"""The two-person rule, shared by every door that asks for it (a sensitive runbook's step, an
experiment under a guardrails profile that requires approval): who may vote, how a vote is
checked (a registered person with the approve permission, not the one who asked, not twice,
with a fresh TOTP code, spent once), and how votes add up to a decision."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from controlplane.errors import InvalidInput
from controlplane.store import Store

__all__ = ["Tally", "check_second_person", "requester", "tally", "who_may_approve"]


@dataclass(frozen=True)
class Tally:
    """What the votes so far decide: `approve` (by `approvers`), `reject`, or `pending`."""

    decision: str
    approvers: list[str]
    needed: int


def tally(votes: Iterable[tuple[str, str]], needed: int) -> Tally:
    """`votes` as (actor, decision): rejected at the first rejection, approved once `needed`
    distinct people approved, pending otherwise."""
    votes = list(votes)
    approvers = [actor for actor, decision in votes if decision == "approve"]
    if any(decision == "reject" for _, decision in votes):
        return Tally("reject", approvers, needed)
    return Tally("approve" if len(approvers) >= needed else "pending", approvers, needed)


def requester(requested_by: str) -> str:
    """The person behind a `started_by` or `requested_by` ("operator:olga", "cli:olga",
    "olga")."""
    return requested_by.split(":", 1)[1] if requested_by.startswith(("operator:", "cli:")) \
        else requested_by


def who_may_approve(store: Store, permission: str, requested_by: str,
                    voted: Iterable[str] = ()) -> str:
    """Who may still approve, as a message says it: the registered people with a second
    factor whose role holds `permission` (not the one who asked, nor who already voted), and
    those roles."""
    from controlplane.security.roles import roles

    policy = roles()
    holders = sorted(r for r in policy.granted if policy.allows(r, permission))
    excluded = {requester(requested_by), requested_by, *voted}
    eligible = sorted(u.name for u in store.users()
                      if u.active and u.has_totp and policy.allows(u.role, permission)
                      and u.name not in excluded)
    roles_text = f"roles holding {permission}: {', '.join(holders)}"
    if eligible:
        return f"any of {', '.join(eligible)} ({roles_text})"
    return (f"a registered person with a second factor ({roles_text}; none is registered "
            "yet: `controlplane users add NAME --role operator`)")


def check_second_person(store: Store, actor: str, requested_by: str, totp_code: str | None,
                        voted: set[str], *, permission: str, what: str) -> None:
    """Refuse (InvalidInput naming who may approve) a vote on `what` ("this run", "this
    experiment") by the one who asked, by anyone not registered with `permission`, or
    without a fresh TOTP code; spend the code."""
    from controlplane.security import totp
    from controlplane.security.roles import roles

    who = who_may_approve(store, permission, requested_by, voted)
    if actor in (requester(requested_by), requested_by):
        raise InvalidInput(f"{actor} asked for {what}, so another person must approve it "
                           f"(the two-person rule): {who}", field="actor", value=actor)
    user = store.get_user(actor)
    if user is None or not user.active or not roles().allows(user.role, permission):
        raise InvalidInput(f"{actor} is not a registered person who may approve; {what} "
                           f"needs {who}", field="actor", value=actor)
    secret = store.totp_secret(actor)
    if secret is None:
        raise InvalidInput(f"{actor} has no second factor; {what} needs a fresh TOTP code "
                           f"from {who}", field="totp", value=None)
    if totp_code is None:
        raise InvalidInput(f"{what} needs a fresh TOTP code from the approver's "
                           "authenticator", field="totp", value=None,
                           fix="Give it with --totp CODE (or \"totp\" in the API body)")
    step = totp.matching_step(secret, totp_code, store.now())
    if step is None or not store.spend_totp_step(actor, step):
        raise InvalidInput("the TOTP code is wrong, expired or already used", field="totp",
                           value="(hidden)", fix="Give the code your authenticator shows now")
