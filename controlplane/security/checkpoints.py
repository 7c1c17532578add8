"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint is one JSON line `{"seq", "hash", "at", "mac"}` appended to
`<state dir>/audit/checkpoints.jsonl`, the MAC an HMAC-SHA256 under a key in
`<state dir>/audit/checkpoint.key` (mode 0600, made at first use). The chain alone shows an
entry edited, deleted or moved in the middle; a checkpoint also shows the chain rewritten from
scratch or its newest entries cut off, because the entry it names must still hold the hash it
recorded. Keep copies of the checkpoints file elsewhere (it is append-only and small) to make
the evidence independent of this machine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from controlplane.store.audit import AuditProblem, AuditRecords

__all__ = ["Checkpoint", "audit_dir", "check_checkpoints", "read_checkpoints",
           "write_checkpoint"]


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: float
    mac: str


def audit_dir(state_dir: Path) -> Path:
    return state_dir / "audit"


def _key(state_dir: Path) -> bytes:
    path = audit_dir(state_dir) / "checkpoint.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _mac(key: bytes, seq: int, digest: str, at: float) -> str:
    return hmac.new(key, f"{seq}:{digest}:{at!r}".encode(), hashlib.sha256).hexdigest()


def write_checkpoint(state_dir: Path, store: AuditRecords, at: float) -> Checkpoint | None:
    """A checkpoint of the chain's head; None when the chain is empty or the last checkpoint
    already names the head."""
    head = store.audit_head()
    if head is None:
        return None
    known = read_checkpoints(state_dir)
    if known and known[-1].seq == head.seq and known[-1].hash == head.hash:
        return None
    point = Checkpoint(head.seq, head.hash, at, _mac(_key(state_dir), head.seq, head.hash, at))
    path = audit_dir(state_dir) / "checkpoints.jsonl"
    with path.open("a") as out:
        out.write(json.dumps(point.__dict__) + "\n")
    return point


def read_checkpoints(state_dir: Path) -> list[Checkpoint]:
    path = audit_dir(state_dir) / "checkpoints.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            raw = json.loads(line)
            out.append(Checkpoint(int(raw["seq"]), str(raw["hash"]), float(raw["at"]),
                                  str(raw["mac"])))
        except (ValueError, KeyError, TypeError):
            out.append(Checkpoint(-1, "", 0.0, ""))      # reported as not signed
    return out


def check_checkpoints(state_dir: Path, store: AuditRecords) -> AuditProblem | None:
    """The first checkpoint the chain no longer matches: a bad signature, or the entry it names
    gone (not pruned) or holding another hash."""
    points = read_checkpoints(state_dir)
    if not points:
        return None
    key = _key(state_dir)
    first = next(iter(store.audit_entries(limit=1)), None)
    for point in points:
        if not hmac.compare_digest(_mac(key, point.seq, point.hash, point.at), point.mac):
            return AuditProblem(point.seq, "a checkpoint's signature does not verify (the "
                                           "checkpoints file was edited)")
        if first is not None and point.seq < first.seq:
            continue                                       # pruned under the retention
        entry = store.audit_entry(point.seq)
        if entry is None:
            return AuditProblem(point.seq, "the entry a signed checkpoint names is gone (the "
                                           "chain was cut short)")
        if entry.hash != point.hash:
            return AuditProblem(point.seq, "the entry does not hold the hash a signed "
                                           "checkpoint recorded (the chain was rewritten)")
    return None
