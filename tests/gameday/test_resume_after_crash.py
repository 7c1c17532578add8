"""Issue 12 item 4's acceptance: a GameDay of 3 experiments, the control plane SIGKILLed
during the second, then resumed. It resumes at the third; the second is recorded interrupted
with its fault reverted; the report lists all three.

On the fake platform, which keeps its cluster in the workspace (`fake-cluster.json`), so the
fault the killed process injected (a paused matcher) outlives it, and the resuming process
sees it and reverts it. No supervisor runs on the fake: the revert is the resume's own
recover pass, not the reaper's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from controlplane.store import Store
from tests.gameday.support import quick_policy, three_experiments
from tests.support.fake_cluster import fake_cluster

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 60.0


def _cli(*args: str, cwd: Path) -> list[str]:
    return [sys.executable, "-m", "controlplane", "gameday", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _second_fault_open(db: Path) -> bool:
    if not db.exists():
        return False
    with Store(db) as store:
        days = store.gamedays()
        if not days or days[0].experiments[1].state != "running":
            return False
        run_id = days[0].experiments[1].run_id
        return bool(run_id and store.open_faults(run_id))


def _kill_during_second(proc: subprocess.Popen[str], db: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not _second_fault_open(db):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the second experiment's fault never opened"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def test_a_gameday_killed_during_its_second_experiment_resumes_at_the_third(
        tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    fake = fake_cluster(ws)
    paths = three_experiments(tmp_path / "exps", second_pause_s=120)
    policy = quick_policy(tmp_path / "policy.yaml")
    args = [str(tmp_path / "exps"), "--policy", str(policy), "--state-dir", str(ws), "--json"]
    proc = subprocess.Popen(_cli("run", *args, cwd=tmp_path), cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _kill_during_second(proc, ws / "controlplane.db")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert fake.info().instance("matcher-0").state == "paused"      # the fault outlived its runner

    resumed = subprocess.run(_cli("resume", "--state-dir", str(ws), "--json", cwd=tmp_path),
                             cwd=tmp_path, env=_env(), capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 1, resumed.stderr      # not every experiment passed
    data = json.loads(resumed.stdout)
    rows = data["experiments"]
    assert [r["experiment"] for r in rows] == [str(p) for p in paths]
    assert [r["state"] for r in rows] == ["passed", "interrupted", "passed"]
    assert data["interrupted_now"] == [1] and data["state"] == "finished"
    assert rows[1]["fault_ids"] and rows[1]["all_faults_reverted"] is True
    assert data["all_faults_reverted"] is True
    assert fake.info().instance("matcher-0").state == "running"

    with Store(ws / "controlplane.db") as store:
        assert store.open_faults() == []
        [day] = store.gamedays()
        first, second, third = day.experiments
        assert day.resumed_at is not None
        assert first.ended_at < day.resumed_at <= third.started_at   # the third ran after
        assert second.started_at < day.resumed_at                   # the second did not rerun
        assert len(store.chaos_runs(suite_id=day.id)) == 3           # one run each
        [fault] = [store.get_fault(i) for i in second.fault_ids]
        assert fault is not None and fault.state == "reverted"
        actions = [e.action for e in store.audit_entries()]
        assert "gameday.start" in actions and "gameday.resume" in actions

    report = json.loads(Path(data["reports"]["json"]).read_text())
    assert [r["state"] for r in report["runs"]] == ["passed", "interrupted", "passed"]
    assert report["runs"][1]["all_faults_reverted"] is True
    junit = ET.parse(data["reports"]["junit"]).getroot()
    assert junit.get("tests") == "3" and junit.get("errors") == "1"
    html = Path(data["reports"]["html"]).read_text()
    assert html.count("<tr class=") == 3 and "interrupted" in html
