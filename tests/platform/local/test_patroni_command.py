"""Which Patroni the ledger runs: the pinned 4.1.4 by default, Debian's 3.0.2 on request, and a
copy the postgres user can read when the checkout is private."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from controlplane.errors import MissingDependency
from controlplane.platform.local import binaries
from controlplane.platform.local.binaries import patroni_command


def test_the_pinned_patroni_is_4_1_4_run_by_debians_python() -> None:
    argv, env = patroni_command("pinned")
    assert argv == ["/usr/bin/python3", "-m", "patroni"]
    out = subprocess.run([*argv, "--version"], env={"PYTHONPATH": env["PYTHONPATH"]},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.split()[-1] == "4.1.4", out.stdout + out.stderr


def test_debian_is_the_system_patroni_3_0_2() -> None:
    argv, env = patroni_command("debian")
    assert env == {}
    out = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.split()[-1] == "3.0.2"


def test_a_missing_pinned_patroni_says_how_to_install_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CONTROLPLANE_PATRONI_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(MissingDependency, match="make setup"):
        patroni_command("pinned")


def test_a_private_checkout_gets_a_world_readable_copy(tmp_path, monkeypatch) -> None:
    home = tmp_path / "private" / ".patroni"
    (home / "lib" / "patroni").mkdir(parents=True)
    (home / "lib" / "patroni" / "__init__.py").write_text("")
    (home / ".lock-hash").write_text(f"test-{os.getpid()}-{tmp_path.name}")
    (tmp_path / "private").chmod(0o700)
    monkeypatch.setenv("CONTROLPLANE_PATRONI_HOME", str(home))
    copied: list[Path] = []
    real_mirror = binaries._mirror
    monkeypatch.setattr(binaries, "_mirror", lambda lib: copied.append(real_mirror(lib))
                        or copied[-1])
    try:
        _, env = patroni_command("pinned")
        lib = Path(env["PYTHONPATH"])
        assert copied == [lib] and lib.parent == Path("/var/tmp")
        assert (lib / "patroni" / "__init__.py").stat().st_mode & 0o004
        assert binaries._world_traversable(lib)
    finally:
        for path in copied:
            subprocess.run(["rm", "-rf", str(path)], check=False)
