"""The cluster use cases (no cluster): each instance action people name maps onto one platform
intent, unknown actions are refused naming the choices, and every `cluster` instance command
reaches the platform (a missing cluster is the error, not a missing method)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from controlplane.application.cluster import INSTANCE_ACTIONS, act_on_instance
from controlplane.errors import InvalidInput


class Recorder:
    """Records which intent was asked for, with which arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs)) or name


@pytest.mark.parametrize(("action", "intent"), [
    ("stop", ("stop", ("gateway-0",), {})),
    ("start", ("start", ("gateway-0",), {})),
    ("kill", ("kill", ("gateway-0",), {})),
    ("terminate", ("kill", ("gateway-0",), {"graceful": True})),
    ("pause", ("freeze", ("gateway-0",), {})),
    ("resume", ("thaw", ("gateway-0",), {})),
])
def test_each_action_is_one_intent(action: str, intent: tuple) -> None:
    platform = Recorder()
    act_on_instance(platform, action, "gateway-0")
    assert platform.calls == [intent]


def test_an_unknown_action_is_refused_naming_the_choices() -> None:
    with pytest.raises(InvalidInput) as err:
        act_on_instance(Recorder(), "signal", "gateway-0")
    assert "signal" in str(err.value) and "pause" in str(err.value)


@pytest.mark.parametrize("action", sorted(INSTANCE_ACTIONS))
def test_every_instance_command_reaches_the_platform(action: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "controlplane", "cluster", action,
                             "gateway-0", "--state-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    assert "no cluster is running" in result.stderr and result.returncode != 0
