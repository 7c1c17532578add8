"""Ledger actions: confirm the ledger has no primary, wait for a primary, fail over fast when
the primary is confirmed dead, check HAProxy's routing, and bring the old primary back as a
standby.

Fast failover: Patroni promotes the synchronous standby only when the dead primary's leader
lease expires (about ttl seconds). When the old primary is confirmed dead (no Patroni, no
PostgreSQL process left of it: nothing can still commit, so no split brain) and the candidate
is the synchronous standby Patroni recorded (so no acknowledged commit is missing from it),
deleting the lease in etcd lets Patroni promote it at once.

With more standbys the sync key lists several (`sync_standby: "ledger-1,ledger-2"`) and a
`quorum`: under quorum commit (`synchronous_mode: quorum`, ANY n) a commit reached n of the
listed standbys, so a node racing for the lease must see `quorum` others of the list to be sure
one of them has every commit; Patroni's race promotes the most advanced of them. With plain
`synchronous_mode` (FIRST n) `quorum` is 0 and every listed standby has every commit. So the
lease is deleted only when at least `quorum + 1` of the listed standbys are healthy: the race
can then end, and only with a node that has every acknowledged commit.

A hung primary (frozen: its processes run, it holds the lease, and neither its PostgreSQL nor
its Patroni API answers for `fence_after_s`) is fenced first: the platform kills every process
of it and verifies that none is left (`Platform.fence`). Only then is its lease deleted, so
the same argument holds: nothing of it can commit, and the synchronous standby has every
acknowledged commit. A primary that answers any probe within the bound is only slow, and is
never fenced: its lease's expiry decides, as Patroni would.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from controlplane.errors import PlatformError
from controlplane.observe.ledger import normalize_role, routed_to
from controlplane.runbooks.actions import ActionContext, ActionFailed, NoParams, action
from controlplane.trading.journals import acknowledged_orders


class Timeout(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    timeout_s: float = Field(30, gt=0, le=600)


def _get_json(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _roles(ctx: ActionContext) -> dict[str, str]:
    roles = {}
    for inst in ctx.platform.instances("ledger"):
        status = _get_json(inst.endpoints["api"] + "/patroni")
        roles[inst.id] = normalize_role(status) if status else "unreachable"
    return roles


def _etcd(ctx: ActionContext, path: str, key: str) -> dict[str, Any]:
    """One etcd v3 call, to each member in turn until one answers (any member of a quorum
    serves linearizable reads and forwards writes to the leader)."""
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    errors = []
    for member in ctx.platform.instances("etcd"):
        req = urllib.request.Request(member.endpoints["client"] + path, data=body,
                                     method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                return json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as err:
            errors.append(f"{member.id}: {err}")
    raise ActionFailed(f"no etcd member answered: {'; '.join(errors) or 'none listed'}")


def _key_value(ctx: ActionContext, key: str) -> str | None:
    kvs = _etcd(ctx, "/v3/kv/range", key).get("kvs") or []
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def _keys(ctx: ActionContext) -> tuple[str, str]:
    scope = ctx.platform.topology().name
    return f"/controlplane/{scope}/leader", f"/controlplane/{scope}/sync"


def _confirmed_dead(ctx: ActionContext, node: str) -> str | None:
    """Why `node` cannot be trusted dead, or None when it is: the platform confirms nothing of
    it runs (PostgreSQL may outlive Patroni and still accept writes), and its API is silent."""
    check = ctx.platform.confirm_dead(node)
    if not check.dead:
        return f"{check.detail} (PostgreSQL may still accept writes)"
    if _get_json(ctx.platform.info().instance(node).endpoints["api"] + "/patroni"):
        return f"{node}'s Patroni API still answers"
    return None


class Failover(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # how long to wait for the primary to be confirmed dead before leaving it to Patroni
    wait_dead_s: float = Field(3, ge=0, le=60)
    # then: a primary whose PostgreSQL and Patroni API both stay silent this long is hung,
    # and is fenced (every process killed, verified) before the fast failover; 0: never fence
    fence_after_s: float = Field(0, ge=0, le=60)
    probe_timeout_s: float = Field(0.5, gt=0, le=5)   # one probe of either; over: no answer


def _dead_or_why(ctx: ActionContext, node: str, wait_s: float) -> str | None:
    deadline = time.monotonic() + wait_s
    while (why := _confirmed_dead(ctx, node)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return why


@action("ledger.failover", Failover, "promote the synchronous standby now if the primary is "
        "confirmed dead (deletes the dead leader's lease); otherwise leave it to Patroni, "
        "which promotes when the lease expires")
def failover(ctx: ActionContext, params: Failover) -> dict[str, Any]:
    roles = _roles(ctx)
    primaries = [n for n, r in roles.items() if r == "primary"]
    if primaries:
        return {"already_primary": primaries[0], "roles": roles}
    leader_key, sync_key = _keys(ctx)
    leader = _key_value(ctx, leader_key)
    sync = json.loads(_key_value(ctx, sync_key) or "{}")
    if leader is None:
        return {"note": "no leader lease: Patroni is already electing", "roles": roles}
    fenced: dict[str, Any] = {}
    if params.fence_after_s > 0:
        why, answered = _dead_or_hung(ctx, leader, params)
        if why and answered:    # slow, not hung: a primary that answers is never fenced
            return {"left_to_patroni": f"not fencing {leader}: {answered}", "roles": roles}
        if why:
            _promotable(roles, sync)                 # fence only what can be replaced
            fenced = _fence(ctx, leader, params.fence_after_s)
            why = _confirmed_dead(ctx, leader)
    else:
        why = _dead_or_why(ctx, leader, params.wait_dead_s)
    if why:     # partitioned or still dying: only the lease's expiry is safe
        return {"left_to_patroni": f"not taking {leader}'s lease: {why}", "roles": roles}
    candidates = _promotable(roles, sync)
    deleted = _etcd(ctx, "/v3/kv/deleterange", leader_key).get("deleted")
    return {"dead_primary": leader, "candidate": candidates[0] if len(candidates) == 1 else
            None, "candidates": candidates, "quorum": _quorum(sync),
            "lease_deleted": deleted == "1", "roles": roles, **fenced}


def _voters(sync: dict[str, Any]) -> list[str]:
    """The standbys the sync key lists (comma-separated; one name on a two-node ledger)."""
    return [n.strip() for n in str(sync.get("sync_standby") or "").split(",") if n.strip()]


def _quorum(sync: dict[str, Any]) -> int:
    try:
        return max(int(sync.get("quorum") or 0), 0)
    except (TypeError, ValueError):
        return 0


def _promotable(roles: dict[str, str], sync: dict[str, Any]) -> list[str]:
    """The healthy listed standbys, when enough are healthy for the leader race to end with one
    that has every acknowledged commit (`quorum + 1` of them); else ActionFailed."""
    voters, quorum = _voters(sync), _quorum(sync)
    healthy = [n for n in voters if roles.get(n) == "sync_standby"]
    if not healthy or len(healthy) < quorum + 1:
        raise ActionFailed(f"no healthy synchronous standby to promote: {len(healthy)} of the "
                           f"listed {voters} healthy, the quorum needs {quorum + 1} (sync key "
                           f"{sync}, roles {roles}); promoting another node could lose commits")
    return healthy


def _answers(ctx: ActionContext, node: str, timeout: float) -> str | None:
    """What of `node` answered one probe within `timeout`: its Patroni API, or its
    PostgreSQL (a connection and `SELECT 1`); None when neither did."""
    import asyncio

    import asyncpg

    if _get_json(ctx.platform.info().instance(node).endpoints["api"] + "/patroni", timeout):
        return "its Patroni API answered"

    async def select_one() -> bool:
        conn = await asyncpg.connect(ctx.platform.ledger_admin_dsn(node), timeout=timeout)
        try:
            return await conn.fetchval("SELECT 1", timeout=timeout) == 1
        finally:
            await conn.close(timeout=timeout)
    try:
        if asyncio.run(asyncio.wait_for(select_one(), timeout * 2)):
            return "its PostgreSQL answered"
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        pass
    return None


def _dead_or_hung(ctx: ActionContext, node: str, params: Failover) -> tuple[str | None, str]:
    """Watch `node` from the step's start: (None, "") once it is confirmed dead (within
    `wait_dead_s`); (why not dead, "") when it stayed silent for `fence_after_s`, so hung;
    (why not dead, what answered) when it answered a probe and outlived `wait_dead_s`, so
    only slow. The silence is counted from the start, so a crash still dying and a hang are
    told apart in one bound, not two."""
    start = time.monotonic()
    answered = ""
    while True:
        check = ctx.platform.confirm_dead(node)
        answer = _answers(ctx, node, params.probe_timeout_s)
        if check.dead and not answer:
            return None, ""
        answered = answered or answer or ""
        why = (f"{check.detail} (PostgreSQL may still accept writes)" if not check.dead
               else f"{node}'s Patroni API still answers")
        waited = time.monotonic() - start
        if answered and waited >= params.wait_dead_s:
            return why, answered
        if not answered and waited >= params.fence_after_s:
            return why, ""
        time.sleep(0.1)


def _fence(ctx: ActionContext, node: str, silent_s: float) -> dict[str, Any]:
    """Fence the hung primary (the platform verifies nothing of it is left); the step's
    record keeps what was done and why."""
    try:
        ctx.platform.fence(node)
    except PlatformError as err:
        raise ActionFailed(f"{node} is hung (silent for {silent_s:g} s) but could not be "
                           f"fenced: {err}; leaving its lease alone") from None
    return {"fenced": node, "fenced_because": f"its PostgreSQL and Patroni API were silent "
            f"for {silent_s:g} s while it held the leader lease"}


@action("ledger.no_primary", NoParams, "no ledger node is a primary that answers (the "
        "platform's health probes)", mutates=False)
def no_primary(ctx: ActionContext, params: NoParams) -> dict[str, Any]:
    nodes = {i.id: i.health for i in ctx.platform.instances("ledger")}
    seen = {n: h.role if h.alive else f"no answer ({h.detail})" for n, h in nodes.items()}
    live = [n for n, h in nodes.items() if h.alive and h.role == "primary"]
    if live:
        raise ActionFailed(f"{live[0]} is the primary and answers: {seen}")
    return {"nodes": seen}


@action("ledger.wait_primary", Timeout, "wait until a node is primary", mutates=False)
def wait_primary(ctx: ActionContext, params: Timeout) -> dict[str, Any]:
    deadline = time.monotonic() + params.timeout_s
    while time.monotonic() < deadline:
        roles = _roles(ctx)
        primaries = [n for n, r in roles.items() if r == "primary"]
        if len(primaries) == 1:
            return {"primary": primaries[0], "roles": roles}
        time.sleep(0.1)
    raise ActionFailed(f"no single primary within {params.timeout_s:g} s: {_roles(ctx)}")


@action("ledger.verify_routing", NoParams, "HAProxy sends writes to the current primary",
        mutates=False)
def verify_routing(ctx: ActionContext, params: NoParams) -> dict[str, Any]:
    import asyncio

    import aiohttp

    stats = ctx.platform.instances("ledger-proxy")[0].endpoints["stats"]

    async def routes() -> list[str]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as s:
            return await routed_to(s, stats)
    routed = asyncio.run(routes())
    primaries = [n for n, r in _roles(ctx).items() if r == "primary"]
    if routed != primaries or not routed:
        raise ActionFailed(f"HAProxy routes to {routed}, the primary is {primaries}")
    return {"routes_to": routed}


@action("ledger.rejoin", Timeout, "restart every stopped ledger node and wait for a "
        "synchronous standby")
def rejoin(ctx: ActionContext, params: Timeout) -> dict[str, Any]:
    started = []
    for inst in ctx.platform.instances("ledger"):
        if not inst.running:
            ctx.platform.start(inst.id)
            started.append(inst.id)
    deadline = time.monotonic() + params.timeout_s
    while time.monotonic() < deadline:
        roles = _roles(ctx)
        back = all(roles.get(n) in ("sync_standby", "standby") for n in started)
        if back and "sync_standby" in roles.values() and "primary" in roles.values():
            return {"started": started, "roles": roles}
        time.sleep(0.5)
    raise ActionFailed(f"no synchronous standby within {params.timeout_s:g} s: {_roles(ctx)}")


class Reconcile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    lookback_s: float = Field(300, gt=0, le=3600)   # before the alert (or now, when manual)
    show: int = Field(20, ge=0, le=1000)            # missing order ids to list


@action("ledger.reconcile", Reconcile, "every order a gateway acknowledged in the window is in "
        "the ledger (RPO = 0), read through HAProxy", mutates=False)
def reconcile(ctx: ActionContext, params: Reconcile) -> dict[str, Any]:
    import asyncio

    from controlplane.meter import present_orders

    anchor = float(ctx.alert.get("starts_at") or time.time())
    since = anchor - params.lookback_s
    journals = acknowledged_orders(ctx.platform, since)
    acked = {a["order_id"]: a for j in journals.values() for a in j.get("acks", [])}
    gaps = {inst: j.get("error") or "journal does not cover the whole window"
            for inst, j in journals.items() if not j.get("complete")}
    present = asyncio.run(present_orders(ctx.platform.ledger_dsn(), sorted(acked)))
    missing = sorted((a for oid, a in acked.items() if oid not in present),
                     key=lambda a: a["seq"])
    out = {"since": since, "acknowledged": len(acked), "missing": len(missing),
           "missing_orders": missing[:params.show], "gateways": sorted(journals),
           "incomplete_journals": gaps}
    if missing:
        span = missing[-1]["at"] - missing[0]["at"]
        raise ActionFailed(f"RPO breach: {len(missing)} of {len(acked)} acknowledged orders are "
                           f"missing from the ledger (over {span:.2f} s), first seq "
                           f"{missing[0]['seq']}: {[m['order_id'] for m in missing[:5]]}")
    return out
