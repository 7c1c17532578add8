"""The ledger hang drill: freeze the primary for longer than its leader lease, under steady
order traffic, resume it, and check that no acknowledged order was lost on any node.

A frozen primary keeps its processes and, until the lease expires, its lock; Patroni then
promotes the synchronous standby. The danger is the moment the old primary wakes: Debian's
Patroni 3.0.2 can write its leader key back over the new primary's (patroni#2689) and the new
primary's writes are then rewound away. So besides the failover drill's measures, this drill
records what the old primary did after it resumed, checks every acknowledged order on each
node directly with SQL, and checks the gateways' journals against the ledger.

Timeline, after the failover drill's: ... -> resumed -> old primary's role changes -> rejoined
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import asyncpg

from controlplane.application.events import EventSink, discard
from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.drills.ledger_failover import LedgerFailoverDrill, _Cluster
from controlplane.drills.model import DrillSettings
from controlplane.drills.watch import patroni_role
from controlplane.errors import PlatformError
from controlplane.meter import OrderWriter, present_orders
from controlplane.observe.ack_audit import find_missing
from controlplane.platform.base import Platform
from controlplane.store import Store
from controlplane.trading.journals import acknowledged_orders

__all__ = ["LedgerHangDrill", "node_missing"]

STABLE_S = 3.0          # roles unchanged this long after the resume: the ledger has settled
CATCH_UP_S = 15.0       # a standby may replay the last commits a moment after they are acked


class LedgerHangDrill(LedgerFailoverDrill):
    kind = "ledger-hang"

    def __init__(self, platform: Platform, store: Store, settings: DrillSettings,
                 sink: EventSink = discard) -> None:
        super().__init__(platform, store, settings, sink)
        self.notes: list[str] = []          # what the old and the new primary did
        self._resumer: asyncio.Task | None = None
        self._engine = FaultEngine(FaultContext(platform, store.path))

    async def _inject(self, drill_id: int, c: _Cluster):
        """The freeze goes through the fault engine: recorded before it is injected, verified
        frozen, and revertible by `chaos recover` if this process dies meanwhile."""
        hold = self.settings.hold_s
        fault = await asyncio.to_thread(self._engine.inject, "process-pause", c.primary,
                                        {"duration_s": hold}, f"drill-{drill_id}")
        if not fault.evidence.ok:
            await asyncio.to_thread(self._engine.revert, fault.id)
            raise PlatformError(f"{c.primary} could not be frozen: {fault.evidence.observed}")
        self._event(drill_id, "fault_injected", fault.injected_at,
                    f"SIGSTOP to {c.primary} for {hold:g} s: Patroni and PostgreSQL frozen, "
                    "the leader lease still held", fault=fault.id)
        self._resumer = asyncio.create_task(self._resume_at(drill_id, c, fault.id,
                                                            fault.injected_at + hold))
        return fault, fault.injected_at

    async def _resume_at(self, drill_id: int, c: _Cluster, fault_id: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        resumed_at = time.time()
        evidence = await asyncio.to_thread(self._engine.revert, fault_id)
        self._event(drill_id, "resumed", resumed_at, f"SIGCONT to {c.primary}: it runs again "
                    f"({'verified' if evidence.ok else 'NOT verified'}: {evidence.observed})")

    async def _watch(self, drill_id: int, c: _Cluster, writer: OrderWriter, fault_at: float):
        """Recovery as in the failover drill, then the load goes on through the resume until
        the ledger settles: the writes most at risk are the ones the new primary took."""
        try:
            watcher = await super()._watch(drill_id, c, writer, fault_at)
        finally:
            await self._ensure_resumed()
        await self._observe_settling(drill_id, c)
        return watcher

    async def _ensure_resumed(self) -> None:
        if self._resumer is None:
            return
        if not self._resumer.done():
            await self._resumer
        self._resumer.result()

    async def _rejoin(self, drill_id: int, c: _Cluster, fault_id: int) -> None:
        await self._ensure_resumed()      # never leave the primary frozen, whatever happened
        await super()._rejoin(drill_id, c, fault_id)

    def _fault_reverted(self, fault_id: int, at: float, detail: dict[str, object]) -> None:
        """The fault engine reverted (and verified) the freeze at the resume."""

    def _fault_failed(self, fault_id: int, why: str) -> None:
        self.notes.append(why)

    async def _observe_settling(self, drill_id: int, c: _Cluster) -> None:
        """Poll every node's role until they are unchanged for STABLE_S with the old primary a
        standby (or the rejoin wait ends); each change is a timeline event."""
        last: dict[str, str] = {}
        changed = time.time()
        deadline = changed + self.settings.rejoin_wait_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as session:
            while time.time() < deadline:
                roles = await _roles(session, c.patroni_apis)
                for node, role in roles.items():
                    if last.get(node) != role:
                        self._role_event(drill_id, c, node, role, last.get(node))
                        changed = time.time()
                last = roles
                if _settled(roles, c.primary) and time.time() - changed >= STABLE_S:
                    break
                await asyncio.sleep(0.2)
        if last.get(c.primary) == "primary":
            self.notes.append(f"{c.primary} (the old primary) is the primary at the end: it "
                              "took the leader lock back after the resume")

    def _role_event(self, drill_id: int, c: _Cluster, node: str, role: str,
                    before: str | None) -> None:
        if before is None and node != c.primary:
            return                          # the first look at the other nodes
        label = role.replace("_", " ") or "unreachable"
        message = f"{node} is {label}"
        if node == c.primary and before is None:
            message = f"{node} (the old primary) after the resume: {label}"
        elif node == c.primary and role == "primary":
            message = (f"{node} (the old primary) reports primary: its PostgreSQL ran on "
                       "through the freeze, and Patroni has not acted yet")
        elif node != c.primary and before == "primary":
            message = f"{node} (the new primary) is {label} now: it lost the leader lock"
            self.notes.append(message)
        self._event(drill_id, "role_changed", time.time(), message)

    async def _more_evidence(self, drill_id: int, c: _Cluster,
                             writer: OrderWriter) -> dict[str, object]:
        ids = [a.order_id for a in writer.acked()]
        nodes = {n: self.platform.ledger_admin_dsn(n) for n in c.patroni_apis}
        missing = await node_missing(nodes, ids)
        self._event(drill_id, "nodes_checked", time.time(), "acknowledged orders missing per "
                    "node (SQL on each): " + ", ".join(f"{n} {k}" for n, k in missing.items()))
        journal = await asyncio.to_thread(self._journal_missing, writer)
        self._event(drill_id, "journals_checked", time.time(),
                    f"{journal} of the gateways' journalled acknowledgements missing")
        return {"node_missing": missing, "journal_missing": journal, "notes": self.notes}

    def _journal_missing(self, writer: OrderWriter) -> int:
        since = min((a.intended for a in writer.attempts), default=time.time()) - 1
        journals = acknowledged_orders(self.platform, since)
        acked = sorted({a["order_id"] for j in journals.values() for a in j.get("acks", [])})
        present = asyncio.run(present_orders(self.platform.ledger_dsn(), acked))
        return sum(len(m.seqs) for m in find_missing(journals, present))


async def _roles(session: aiohttp.ClientSession, apis: dict[str, str]) -> dict[str, str]:
    roles = await asyncio.gather(*(patroni_role(session, url) for url in apis.values()))
    return dict(zip(apis, roles, strict=True))


def _settled(roles: dict[str, str], old_primary: str) -> bool:
    values = list(roles.values())
    return values.count("primary") == 1 and roles.get(old_primary) in ("sync_standby", "standby")


async def node_missing(nodes: dict[str, str], order_ids: list[str],
                       catch_up_s: float = CATCH_UP_S) -> dict[str, int]:
    """How many of `order_ids` each node lacks, asked of each node directly (`nodes`: DSNs).
    A standby gets `catch_up_s` to replay what it has already confirmed; a node that cannot
    be asked counts every order as missing, so an unreadable node never passes."""
    out = {}
    for node, dsn in nodes.items():
        deadline = time.time() + catch_up_s
        while True:
            try:
                lacking = len(set(order_ids) - await present_orders(dsn, order_ids))
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                lacking = len(order_ids)
            if lacking == 0 or time.time() >= deadline:
                break
            await asyncio.sleep(0.5)
        out[node] = lacking
    return out
