"""Network helpers for tests: free loopback ports and bounded polling."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["free_port", "wait_for"]

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel just handed out for `host` (bound to 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0,
             interval: float = 0.1) -> T:
    """Call `probe` until it returns something other than None (or False); bounded."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last error
            last_error = exc
        else:
            if result is not None and result is not False:
                return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}"
                       + (f" (last error: {last_error!r})" if last_error else ""))
