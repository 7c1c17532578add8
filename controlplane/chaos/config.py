"""How Chaos Toolkit activities find the cluster and their run.

The guarded runner passes both in the experiment's configuration; a plain `chaos run` falls
back to the environment (CONTROLPLANE_STATE_DIR, CONTROLPLANE_RUN_ID) and then to defaults.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from controlplane.chaos.engine import FaultContext, FaultEngine
from controlplane.platform import Platform, open_platform

__all__ = ["RUN_KEY", "STATE_KEY", "engine_for", "platform_for", "run_id_for"]

STATE_KEY = "controlplane_state_dir"
RUN_KEY = "controlplane_run_id"
_PROCESS_RUN = f"adhoc-{uuid.uuid4().hex[:8]}"      # one plain `chaos run` = one process


def _state_dir(configuration: dict[str, Any] | None) -> Path:
    configured = (configuration or {}).get(STATE_KEY) or os.environ.get("CONTROLPLANE_STATE_DIR")
    return Path(configured) if configured else Path.cwd() / ".state" / "reference-trading"


def platform_for(configuration: dict[str, Any] | None) -> Platform:
    return open_platform(_state_dir(configuration))


def engine_for(configuration: dict[str, Any] | None) -> FaultEngine:
    platform = platform_for(configuration)
    return FaultEngine(FaultContext(platform, platform.workspace.store_path))


def run_id_for(configuration: dict[str, Any] | None) -> str:
    return str((configuration or {}).get(RUN_KEY) or os.environ.get("CONTROLPLANE_RUN_ID")
               or _PROCESS_RUN)
