"""Small GameDays on the fake platform: three quick experiment files and a guardrails
profile without waits, so a GameDay runs in seconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from controlplane.chaos.experiments import EXPERIMENTS_DIR
from controlplane.chaos.guardrails import load_policy

__all__ = ["quick_policy", "three_experiments"]

CONFIGURATION = json.loads(
    (EXPERIMENTS_DIR / "gateway" / "process-kill-gateway.json").read_text())["configuration"]
ALWAYS_TRUE = {"type": "probe", "name": "root-exists", "tolerance": True,
               "provider": {"type": "python", "module": "os.path", "func": "isdir",
                            "arguments": {"s": "/"}}}
REVERT = {"type": "action", "name": "revert",
          "provider": {"type": "python", "module": "controlplane.chaos.actions",
                       "func": "revert_run_faults"}}


def quick_policy(path: Path) -> Path:
    """The lab profile with no meter, no SLO history or budget gate, no freeze, no cooldown."""
    data = load_policy().model_dump(mode="json")
    data["load"]["rate"] = 0
    data["freeze"]["enabled"] = False
    data["error_budget"]["min_remaining"] = 0
    data["steady_state"].update(min_history_s=0, cooldown_s=0, recovery_timeout_s=5)
    path.write_text(yaml.safe_dump(data))
    return path


def _experiment(title: str, kind: str, target: str, parameters: dict[str, Any],
                pause_s: float = 0) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "action", "name": f"{kind}-{target}",
        "provider": {"type": "python", "module": "controlplane.chaos.actions",
                     "func": "inject_fault",
                     "arguments": {"kind": kind, "target": target, "parameters": parameters}}}
    if pause_s:
        action["pauses"] = {"after": pause_s}       # the fault stays open meanwhile
    return {"version": "1.0.0", "title": title, "description": "GameDay test",
            "tags": [f"fault:{kind}", f"component:{target.split('-')[0]}", "severity:low",
                     "runbook:none"],
            "configuration": CONFIGURATION,
            "steady-state-hypothesis": {"title": "always", "probes": [ALWAYS_TRUE]},
            "method": [action], "rollbacks": [REVERT],
            "runtime": {"rollbacks": {"strategy": "always"}}}


def three_experiments(folder: Path, second_pause_s: float = 0) -> list[Path]:
    """Three experiments, in this order; the second holds its fault `second_pause_s`."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = [("kill a gateway", "process-kill", "gateway", {}, 0),
             ("pause a matcher", "process-pause", "matcher-0", {"duration_s": 300},
              second_pause_s),
             ("errors from market data", "app-errors", "marketdata-0",
              {"duration_s": 1, "error_rate": 0.1}, 0)]
    paths = []
    for i, (title, kind, target, params, pause) in enumerate(specs, 1):
        path = folder / f"{i:02d}-{kind}.json"
        path.write_text(json.dumps(_experiment(title, kind, target, params, pause), indent=2))
        paths.append(path)
    return paths
