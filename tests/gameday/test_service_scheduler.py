"""The service runs the schedules: with `gameday_schedules`, its loop decides each due time
and records it. The clock is fixed inside the XNYS session of 2026-11-25, so the decision is
a freeze and nothing is launched; then the CLI shows it (`gameday history --json`,
`gameday schedules --json`)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from controlplane.server import ServerSettings, create_app
from controlplane.store import Store
from tests.gameday.test_schedules import _frozen_policy

REPO = Path(__file__).resolve().parents[2]
NOON = datetime(2026, 11, 25, 12, 0, 20, tzinfo=ZoneInfo("America/New_York")).timestamp()


def _schedules(tmp_path: Path) -> Path:
    path = tmp_path / "schedules.yaml"
    path.write_text(yaml.safe_dump({"schedules": [{
        "name": "noon", "cron": "0 12 * * *", "timezone": "America/New_York",
        "targets": [str(REPO / "experiments")], "policy": str(_frozen_policy(tmp_path))}]}))
    return path


async def _until_decided(state: Path) -> None:
    for _ in range(200):
        with Store(state / "controlplane.db") as store:
            if store.decisions():
                return
        await asyncio.sleep(0.05)


def test_the_service_records_a_scheduled_gameday_refused_by_the_freeze(tmp_path: Path) -> None:
    state = tmp_path / "state"
    file = _schedules(tmp_path)
    settings = ServerSettings(port=0, state_dir=state, gameday_schedules=file,
                              schedule_interval_s=3600)
    app = create_app(settings, CollectorRegistry(), clock=lambda: NOON)

    async def main() -> None:
        async with TestClient(TestServer(app)):
            await _until_decided(state)
    asyncio.run(main())
    with Store(state / "controlplane.db") as store:
        [decision] = store.decisions()
        assert decision.decision == "skipped-freeze" and "XNYS session 2026-11-25" in \
            decision.reason
        assert store.gamedays() == []
    assert not (state / "launches").exists() or not list((state / "launches").iterdir())

    def cli(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "controlplane", "gameday", *args,
                               "--state-dir", str(state), "--json"], capture_output=True,
                              text=True, timeout=60, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    history = cli("history")
    assert history["gamedays"] == [] and history["decisions"][0]["decision"] == "skipped-freeze"
    [row] = cli("schedules", "--file", str(file))["schedules"]
    assert row["name"] == "noon" and row["last_decision"]["decision"] == "skipped-freeze"
