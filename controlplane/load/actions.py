"""Small platform actions and probes for Chaos Toolkit experiments hosted by a load run.

Python providers of an experiment call these with the cluster's state directory, which a load
run passes as the configuration variable `state_dir` (the workspace). They act on the cluster
through the platform that workspace records. The fault library (`controlplane.chaos.faults`) is
the full set; these stay because load files written before it call them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from controlplane.platform import Platform, open_platform

__all__ = ["instance_ready", "kill_instance", "pause_instance", "resume_instance",
           "start_instance", "wait_ready"]


def _platform(state_dir: str) -> Platform:
    return open_platform(Path(state_dir))


def kill_instance(state_dir: str, instance: str, signal: str = "KILL") -> dict[str, Any]:
    """Crash an instance (`signal` TERM: shut it down); its restart policy decides whether it
    comes back."""
    info = _platform(state_dir).kill(instance, graceful=signal.upper().removeprefix("SIG")
                                     == "TERM")
    return {"instance": info.id, "state": info.state, "at": time.time()}


def pause_instance(state_dir: str, instance: str) -> dict[str, Any]:
    info = _platform(state_dir).freeze(instance)
    return {"instance": info.id, "state": info.state, "at": time.time()}


def resume_instance(state_dir: str, instance: str) -> dict[str, Any]:
    """Undo `pause_instance`; a no-op answer when the instance is not paused."""
    platform = _platform(state_dir)
    if platform.info().known(instance).state != "paused":
        return {"instance": instance, "state": "not paused", "at": time.time()}
    info = platform.thaw(instance)
    return {"instance": info.id, "state": info.state, "at": time.time()}


def start_instance(state_dir: str, instance: str) -> dict[str, Any]:
    """Start an instance that is down; leave a running (or restarting) one alone."""
    platform = _platform(state_dir)
    state = platform.info().known(instance).state
    if state in ("stopped", "exited", "crashed"):
        state = platform.start(instance).state
    return {"instance": instance, "state": state, "at": time.time()}


def instance_ready(state_dir: str, instance: str) -> bool:
    """Probe: the instance answers its readiness check."""
    return _platform(state_dir).health(instance).ready


def wait_ready(state_dir: str, instance: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Wait (bounded) until the instance is ready again; fails after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if instance_ready(state_dir, instance):
            return {"instance": instance, "ready": True,
                    "waited_s": round(time.monotonic() - started, 3)}
        time.sleep(0.2)
    raise RuntimeError(f"{instance} not ready after {timeout_s:g} s")
