"""Process control on this machine: the sweep by working directory and the parent-death signal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from controlplane.host.procs import alive, find_owned, kill_tree
from tests.support.net import wait_for

CHILD = """
import os, subprocess, sys, time
from controlplane.host.procs import pdeathsig_preexec
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              cwd=sys.argv[1], start_new_session=True,
                              preexec_fn=pdeathsig_preexec())
print(grandchild.pid, flush=True)
time.sleep(60)
"""


def test_sweep_finds_processes_by_working_directory_and_kills_them(tmp_path: Path) -> None:
    inside = tmp_path / "instances" / "x"
    inside.mkdir(parents=True)
    outside = tmp_path.parent
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    a = subprocess.Popen(sleeper, cwd=inside, start_new_session=True)
    b = subprocess.Popen(sleeper, cwd=outside, start_new_session=True)
    try:
        found = {p.pid for p in find_owned([tmp_path])}
        assert a.pid in found and b.pid not in found
        kill_tree([a.pid], timeout=5)
        a.wait(5)
        assert not alive(a.pid)
        assert a.pid not in {p.pid for p in find_owned([tmp_path])}
    finally:
        for p in (a, b):
            p.kill()
            p.wait()


def test_children_die_with_their_supervisor(tmp_path: Path) -> None:
    """A supervisor killed with SIGKILL cannot clean up; PR_SET_PDEATHSIG does it for it."""
    parent = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True, start_new_session=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    grandchild = int(parent.stdout.readline())
    assert alive(grandchild)
    parent.kill()
    parent.wait(5)
    wait_for("the orphan to get SIGTERM", lambda: not alive(grandchild), timeout=10)
    assert find_owned([tmp_path]) == []
    time.sleep(0)
