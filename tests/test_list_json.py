"""`--json` on the remaining commands that print records (issue 14 item 21): `load profiles`,
`load runs` and `drills list` print one JSON document on stdout and nothing else, an empty
list when nothing is recorded yet."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from controlplane.cli import cli
from controlplane.load.profiles import load_profiles
from controlplane.store import Store
from controlplane.store.load_runs import LoadRecords
from tests.support.fake_cluster import fake_cluster


def _json(*args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_load_profiles_as_json_lists_every_shipped_profile() -> None:
    doc = _json("load", "profiles")
    assert [p["name"] for p in doc["profiles"]] == sorted(load_profiles())
    assert all({"users", "duration_s", "mode", "gates"} <= set(p) for p in doc["profiles"])


def test_runs_and_drills_as_json_are_empty_lists_before_anything_ran(tmp_path: Path) -> None:
    fake_cluster(tmp_path)
    (tmp_path / "controlplane.db").unlink(missing_ok=True)
    assert _json("load", "runs", "--state-dir", str(tmp_path)) == {"runs": []}
    assert _json("drills", "list", "--state-dir", str(tmp_path)) == {"drills": []}


def test_runs_and_drills_as_json_carry_their_records(tmp_path: Path) -> None:
    platform = fake_cluster(tmp_path)
    with Store(platform.workspace.store_path) as store:
        drill = store.create_drill("ledger-failover", "ledger-0", {"rate": 50})
        store.finish_drill(drill.id, "passed", {"rto_s": 3.1, "rpo_orders": 0})
        run = LoadRecords(store).start_run("smoke", "local", str(tmp_path / "out"), {})
        LoadRecords(store).finish_run(run.id, "passed", {"summary": {}})
    [d] = _json("drills", "list", "--state-dir", str(tmp_path))["drills"]
    assert (d["id"], d["kind"], d["state"], d["result"]["rto_s"]) == (drill.id,
                                                                      "ledger-failover",
                                                                      "passed", 3.1)
    [r] = _json("load", "runs", "--state-dir", str(tmp_path))["runs"]
    assert (r["id"], r["profile"], r["state"]) == (run.id, "smoke", "passed")
