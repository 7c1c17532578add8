"""Processes on this machine: spawn in their own group, tie them to their parent, find and kill
every process that belongs to a state directory (the sweep that leaves no orphans)."""

from __future__ import annotations

import ctypes
import os
import pwd
import signal
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ProcRef",
    "RunAs",
    "alive",
    "find_owned",
    "kill_tree",
    "pdeathsig_preexec",
    "proc_state",
    "run_as",
    "signal_group",
    "started_at",
]

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class RunAs:
    user: str | None
    uid: int
    gid: int
    home: str


def run_as(user: str) -> RunAs:
    """Run as `user` when we are root (PostgreSQL refuses root); else as ourselves."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return RunAs(None, me.pw_uid, me.pw_gid, me.pw_dir)
    entry = pwd.getpwnam(user)
    return RunAs(user, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def pdeathsig_preexec(sig: int = signal.SIGTERM, parent: int | None = None):
    """preexec_fn: deliver `sig` to the child when the spawning thread dies.

    Runs after Popen's setsid/setgid/setuid (credential changes clear the setting), so it
    survives the switch to the postgres user.
    """
    parent = parent if parent is not None else os.getpid()

    def _preexec() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:   # the parent died before prctl took effect
            os._exit(1)

    return _preexec


@dataclass(frozen=True)
class ProcRef:
    pid: int
    cmdline: str


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def find_owned(roots: list[Path]) -> list[ProcRef]:
    """Every live process whose working directory lies under one of `roots`.

    Every process the local platform starts runs in its instance's directory, and PostgreSQL's
    own children run in their data directory, so the working directory finds them all, however
    they were reparented. Our own ancestors (a shell sitting in the directory) are spared.
    """
    keys = [str(r.resolve()) for r in roots]
    spared = _ancestors()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in spared:
            continue
        pid = int(entry)
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if any(cwd == k or cwd.startswith(k + "/") for k in keys) and alive(pid):
            found.append(ProcRef(pid, _read(f"/proc/{pid}/cmdline")))
    return found


def proc_state(pid: int) -> str:
    """The one-letter state of a process in /proc (R, S, T, Z, ...), '' when gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def started_at(pid: int) -> float | None:
    """When the process started (epoch seconds, to about 1 s); None when it is gone. Tells a
    process from a later one that was given the same pid."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
    except (OSError, IndexError, ValueError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def alive(pid: int) -> bool:
    """Running (a zombie is not)."""
    return proc_state(pid) not in ("", "Z")


def signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def kill_tree(pids: list[int], timeout: float = 5.0) -> list[int]:
    """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the pids that had to be killed."""
    for pid in pids:
        _signal(pid, signal.SIGCONT)      # a paused process cannot act on SIGTERM
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    forced = [p for p in pids if alive(p)]
    for pid in forced:
        _signal(pid, signal.SIGKILL)
    return forced


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
