"""Start processes for a test and always kill what was started.

Every process gets its own session (process group), its output goes to a log file, and
`close()` (a fixture finalizer) sends SIGTERM to each group, waits, then SIGKILLs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Proc", "Processes", "leftover_processes", "processes"]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Processes:
    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self._procs: dict[str, Proc] = {}

    def start(self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None,
              cwd: str | Path | None = None, user: str | None = None) -> Proc:
        """Start `argv` in a new session; `user` drops root to that OS user (and its group)."""
        if name in self._procs and self._procs[name].alive():
            raise RuntimeError(f"{name} is already running (pid {self._procs[name].pid})")
        log = self.logdir / f"{name}.log"
        extra: dict[str, object] = {}
        if user is not None:
            extra = {"user": user, "group": user, "extra_groups": []}
        with log.open("ab") as out:
            popen = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                     start_new_session=True, **extra)  # type: ignore[call-overload]
        self._procs[name] = Proc(name, popen, log)
        return self._procs[name]

    def get(self, name: str) -> Proc:
        return self._procs[name]

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signal the process group, wait up to `timeout`, then SIGKILL; the exit code."""
        proc = self._procs[name]
        _signal_group(proc.pid, sig)
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.popen.wait(10)
        _wait_group_gone(proc.pid, timeout=10)
        return proc.popen.returncode

    def close(self) -> None:
        """Stop everything that was started, newest first."""
        for name in reversed(list(self._procs)):
            with contextlib.suppress(Exception):
                self.stop(name, timeout=10)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """Children left in the group (e.g. postgres backends) get SIGKILL if they linger."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)


@contextlib.contextmanager
def processes(logdir: Path) -> Iterator[Processes]:
    procs = Processes(logdir)
    try:
        yield procs
    finally:
        procs.close()


def leftover_processes(markers: Sequence[str]) -> list[str]:
    """Command lines of live processes that mention any of `markers` (e.g. a temp dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(marker in cmdline for marker in markers):
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found
