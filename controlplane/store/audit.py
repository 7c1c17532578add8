"""The audit trail: an append-only hash chain in the store.

Each entry's `hash` is SHA-256 over its own fields and the `prev_hash` of the entry before it
(the first entry's `prev_hash` is GENESIS). Editing an entry breaks its hash; deleting or
moving one breaks the link (`prev_hash`) or the numbering (`seq`) of the next. `verify_audit`
walks the chain and names the first bad entry. Pruning (retention) deletes the oldest entries
and appends an `audit.prune` entry holding the hash of the last one deleted, so the chain still
verifies from its new first entry.

Appends take SQLite's write lock (BEGIN IMMEDIATE), so the service, runbook threads and the CLI
append to one chain without forking it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from controlplane.store.models import JsonObject, from_json, to_json
from controlplane.store.records import Records

__all__ = ["GENESIS", "AuditEntry", "AuditProblem", "AuditRecords", "entry_hash"]

GENESIS = "0" * 64
PRUNE = "audit.prune"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: float
    actor: str
    action: str
    target: str
    outcome: str
    detail: JsonObject
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, object]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
                "target": self.target, "outcome": self.outcome, "detail": dict(self.detail),
                "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """The first entry where the chain does not hold, and how."""

    seq: int
    problem: str


def entry_hash(seq: int, at: float, actor: str, action: str, target: str, outcome: str,
               detail_json: str, prev_hash: str) -> str:
    text = json.dumps([seq, at, actor, action, target, outcome, detail_json, prev_hash],
                      ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class AuditRecords(Records):
    def audit(self, actor: str, action: str, target: str = "", outcome: str = "ok",
              detail: Mapping[str, object] | None = None) -> AuditEntry:
        """Append one entry to the chain, committed before this returns (inside a caller's
        transaction, part of it)."""
        own = not self._conn.in_transaction
        if own:
            self._conn.execute("BEGIN IMMEDIATE")
        try:
            entry = self._append(actor, action, target, outcome, detail or {})
            if own:
                self._conn.execute("COMMIT")
        except BaseException:
            if own:
                self._conn.execute("ROLLBACK")
            raise
        return entry

    def _append(self, actor: str, action: str, target: str, outcome: str,
                detail: Mapping[str, object],
                after: tuple[int, str] = (0, GENESIS)) -> AuditEntry:
        """The next entry; `after` is the (seq, hash) it follows when the table is empty (a
        prune that deleted every entry)."""
        last = self._one("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", ())
        seq, prev = (after[0] + 1, after[1]) if last is None else (last["seq"] + 1,
                                                                   last["hash"])
        at = float(self._clock())
        detail_json = to_json(detail, "detail")
        digest = entry_hash(seq, at, actor, action, target, outcome, detail_json, prev)
        self._conn.execute(
            "INSERT INTO audit_log (seq, at, actor, action, target, outcome, detail, prev_hash,"
            " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, actor, action, target, outcome, detail_json, prev, digest))
        return AuditEntry(seq, at, actor, action, target, outcome, dict(detail), prev, digest)

    def audit_entries(self, since: float | None = None, limit: int | None = None
                      ) -> Iterator[AuditEntry]:
        rows = self._conn.execute(
            "SELECT * FROM audit_log WHERE (? IS NULL OR at >= ?) ORDER BY seq LIMIT ?",
            (since, since, -1 if limit is None else limit))
        for row in rows:
            yield _entry(row)

    def audit_head(self) -> AuditEntry | None:
        row = self._one("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1", ())
        return None if row is None else _entry(row)

    def audit_entry(self, seq: int) -> AuditEntry | None:
        row = self._one("SELECT * FROM audit_log WHERE seq = ?", (seq,))
        return None if row is None else _entry(row)

    def verify_audit(self) -> tuple[int, AuditProblem | None]:
        """(entries checked, the first problem or None). The chain starts at GENESIS, or after
        a prune at the hash its `audit.prune` entry recorded."""
        rows = self._conn.execute("SELECT * FROM audit_log ORDER BY rowid")
        count, expected_seq, prev = 0, None, None
        for row in rows:
            count += 1
            seq = row["seq"]
            if prev is None:            # the first entry left: genesis, or the prune anchor
                expected_seq, prev = seq, self._chain_start(seq)
            if seq != expected_seq:
                return count, AuditProblem(expected_seq if seq > expected_seq else seq,
                                           f"entry {expected_seq} is missing (the next "
                                           f"stored entry is {seq})" if seq > expected_seq
                                           else f"entry {seq} is out of order")
            if row["prev_hash"] != prev:
                return count, AuditProblem(seq, "its link to the entry before it is broken "
                                                "(an entry before it was deleted, moved or "
                                                "edited)")
            digest = entry_hash(seq, row["at"], row["actor"], row["action"], row["target"],
                                row["outcome"], row["detail"], row["prev_hash"])
            if digest != row["hash"]:
                return count, AuditProblem(seq, "its content does not match its hash (the "
                                                "entry was edited)")
            expected_seq, prev = seq + 1, row["hash"]
        return count, None

    def _chain_start(self, first_seq: int) -> str:
        if first_seq == 1:
            return GENESIS
        row = self._one("SELECT detail FROM audit_log WHERE action = ? AND "
                        "json_extract(detail, '$.through_seq') = ? ORDER BY seq DESC LIMIT 1",
                        (PRUNE, first_seq - 1))
        detail = from_json(row["detail"]) if row is not None else None
        return str(detail["through_hash"]) if detail else "(no prune entry records it)"

    def prune_audit(self, before: float, actor: str) -> AuditEntry | None:
        """Delete the entries older than `before`, audited by an `audit.prune` entry; None when
        nothing is that old."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            last = self._one("SELECT seq, hash FROM audit_log WHERE at < ? ORDER BY seq DESC "
                             "LIMIT 1", (before,))
            if last is None:
                self._conn.execute("ROLLBACK")
                return None
            deleted = self._conn.execute("DELETE FROM audit_log WHERE seq <= ?",
                                         (last["seq"],)).rowcount
            entry = self._append(actor, PRUNE, "audit_log", "ok",
                                 {"through_seq": last["seq"], "through_hash": last["hash"],
                                  "deleted": deleted, "before": before},
                                 after=(last["seq"], last["hash"]))
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        return entry


def _entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(row["seq"], row["at"], row["actor"], row["action"], row["target"],
                      row["outcome"], from_json(row["detail"]) or {}, row["prev_hash"],
                      row["hash"])
