"""Python providers for the chaos-host tests: they only write marker files."""

from __future__ import annotations

import time
from pathlib import Path


def act(marker: str, seconds: float = 0.0) -> str:
    Path(marker).write_text(f"started {time.time()}\n")
    time.sleep(seconds)
    return "done"


def revert(marker: str) -> str:
    Path(marker).write_text("reverted\n")
    return "reverted"


def healthy(ok: bool = True) -> bool:
    return ok
