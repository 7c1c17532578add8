"""The audit trail's hash chain: an entry edited, deleted or moved directly in SQLite is named
by `audit verify`; a chain cut short or rewritten from scratch is caught by the signed
checkpoints kept outside the database; pruning under the retention keeps the chain verifiable
and is itself audited; the chain survives reopening the store."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from controlplane.application.access import audit_document, prune_audit
from controlplane.security.checkpoints import write_checkpoint
from controlplane.store import Store, db_path
from controlplane.store.audit import GENESIS, entry_hash

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _chain(state: Path, entries: int = 6) -> None:
    with Store(db_path(state), clock=Clock()) as store:
        for i in range(entries):
            store.audit(f"user-{i % 2}", "POST /api/v1/chaos/halt", f"/t/{i}", "200",
                        {"i": i})


def _sql(state: Path, *statements: str) -> None:
    conn = sqlite3.connect(db_path(state), isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()


def _verify_cli(state: Path) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "controlplane", "audit", "verify", "--json",
                           "--state-dir", str(state)], capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    return done.returncode, json.loads(done.stdout)


def test_an_intact_chain_verifies_and_links_each_entry_to_the_one_before(
        tmp_path: Path) -> None:
    _chain(tmp_path)
    with Store(db_path(tmp_path)) as store:
        entries = list(store.audit_entries())
        assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
        assert entries[0].prev_hash == GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
        assert store.verify_audit() == (6, None)
    assert _verify_cli(tmp_path) == (0, {"ok": True, "entries": 6, "first_bad": None,
                                         "head": {"seq": 6, "hash": entries[-1].hash}})


@pytest.mark.parametrize(("tamper", "seq", "words"), [
    (["UPDATE audit_log SET actor = 'nobody' WHERE seq = 3"], 3, "edited"),
    (["UPDATE audit_log SET detail = '{\"i\": 99}' WHERE seq = 4"], 4, "edited"),
    (["DELETE FROM audit_log WHERE seq = 3"], 3, "missing"),
    # two entries swap places: each keeps the other's seq
    (["UPDATE audit_log SET seq = 100 WHERE seq = 3",
      "UPDATE audit_log SET seq = 3 WHERE seq = 4",
      "UPDATE audit_log SET seq = 4 WHERE seq = 100"], 3, "link"),
    (["DELETE FROM audit_log WHERE seq = 1"], 2, "link"),
], ids=["edit-actor", "edit-detail", "delete", "reorder", "delete-first"])
def test_a_tampered_entry_is_named(tmp_path: Path, tamper: list[str], seq: int,
                                   words: str) -> None:
    _chain(tmp_path)
    _sql(tmp_path, *tamper)
    code, document = _verify_cli(tmp_path)
    assert code == 1 and document["ok"] is False
    assert document["first_bad"]["seq"] == seq, document
    assert words in document["first_bad"]["problem"]


def test_an_edit_that_recomputes_its_own_hash_still_breaks_the_next_link(
        tmp_path: Path) -> None:
    _chain(tmp_path)
    with Store(db_path(tmp_path)) as store:
        e = store.audit_entry(3)
    assert e is not None
    forged = entry_hash(3, e.at, "nobody", e.action, e.target, e.outcome,
                        json.dumps(dict(e.detail)), e.prev_hash)
    _sql(tmp_path, f"UPDATE audit_log SET actor = 'nobody', hash = '{forged}' WHERE seq = 3")
    code, document = _verify_cli(tmp_path)
    assert (code, document["first_bad"]["seq"]) == (1, 4)


def test_checkpoints_catch_a_chain_cut_short_or_rewritten(tmp_path: Path) -> None:
    _chain(tmp_path)
    with Store(db_path(tmp_path)) as store:
        assert write_checkpoint(tmp_path, store, store.now()) is not None
        assert write_checkpoint(tmp_path, store, store.now()) is None     # nothing new
    _sql(tmp_path, "DELETE FROM audit_log WHERE seq >= 5")               # the tail cut off
    with Store(db_path(tmp_path)) as store:
        assert store.verify_audit() == (4, None)                        # the chain alone: fine
        document = audit_document(store, tmp_path)
    assert document["ok"] is False and document["first_bad"]["seq"] == 6
    assert "cut short" in document["first_bad"]["problem"]


def test_a_chain_rewritten_from_scratch_fails_its_checkpoint(tmp_path: Path) -> None:
    _chain(tmp_path, 3)
    with Store(db_path(tmp_path)) as store:
        write_checkpoint(tmp_path, store, store.now())
    _sql(tmp_path, "DELETE FROM audit_log")
    with Store(db_path(tmp_path), clock=Clock()) as store:
        for i in range(3):                                     # a consistent, forged chain
            store.audit("forger", "nothing happened", "", "ok", {"i": i})
        assert store.verify_audit() == (3, None)
        document = audit_document(store, tmp_path)
    assert document["first_bad"]["seq"] == 3 and "rewritten" in document["first_bad"]["problem"]


def test_an_edited_checkpoint_file_is_reported(tmp_path: Path) -> None:
    _chain(tmp_path, 3)
    with Store(db_path(tmp_path)) as store:
        write_checkpoint(tmp_path, store, store.now())
    path = tmp_path / "audit" / "checkpoints.jsonl"
    point = json.loads(path.read_text())
    path.write_text(json.dumps({**point, "seq": 2}) + "\n")
    with Store(db_path(tmp_path)) as store:
        document = audit_document(store, tmp_path)
    assert document["ok"] is False and "signature" in document["first_bad"]["problem"]


def test_pruning_keeps_the_chain_verifiable_and_is_audited(tmp_path: Path) -> None:
    _chain(tmp_path, 6)
    clock = Clock()
    clock.now += 400 * 86400                     # 400 days later
    with Store(db_path(tmp_path), clock=clock) as store:
        result = prune_audit(store, tmp_path, 365, "cli:tester")
        entries = list(store.audit_entries())
        document = audit_document(store, tmp_path)
    assert result["pruned"] == 6
    assert [(e.seq, e.action, e.actor) for e in entries] == [(7, "audit.prune", "cli:tester")]
    assert document["ok"] is True, document
    _sql(tmp_path, "UPDATE audit_log SET detail = json_set(detail, '$.deleted', 1)")
    with Store(db_path(tmp_path)) as store:
        assert audit_document(store, tmp_path)["first_bad"]["seq"] == 7


def test_the_chain_survives_reopening_and_goes_on_from_its_head(tmp_path: Path) -> None:
    _chain(tmp_path, 2)
    _chain(tmp_path, 2)
    with Store(db_path(tmp_path)) as store:
        assert store.verify_audit() == (4, None)
