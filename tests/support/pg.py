"""A throwaway PostgreSQL server for tests: initdb + postgres on a free port in a temp dir.

PostgreSQL refuses to run as root, so initdb and postgres run as the `postgres` OS user in a
directory under /tmp that it owns. Password authentication (scram) is on for TCP, so the
application role's password is really checked. Use `throwaway_postgres()` as a context
manager, or the `pg_server` fixture:

    with throwaway_postgres(tmp_path) as pg:
        asyncpg.connect(pg.dsn) ...
        pg.stop(); pg.start()      # a database outage in the middle of a test
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port, wait_for
from tests.support.procs import Processes

__all__ = ["CREATED", "PG_BINDIR", "PgServer", "pg_available", "pg_server", "throwaway_postgres"]

PG_BINDIR = Path(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
CREATED: list[Path] = []  # every server directory made by this process, to check for leftovers


def pg_available() -> str | None:
    """None when a throwaway server can run here, else why not."""
    if not (PG_BINDIR / "postgres").exists():
        return f"no PostgreSQL binaries in {PG_BINDIR}"
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        return f"no {PG_USER!r} OS user"
    if os.geteuid() != 0:
        return "must run as root to start postgres as the postgres user"
    return None


@dataclass
class PgServer:
    basedir: Path
    port: int
    password: str
    procs: Processes
    name: str = "postgres"

    @property
    def datadir(self) -> Path:
        return self.basedir / "data"

    @property
    def dsn(self) -> str:
        """The superuser DSN (database postgres)."""
        return f"postgresql://{PG_USER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, user: str, password: str, dbname: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def start(self, timeout: float = 30.0) -> None:
        argv = [str(PG_BINDIR / "postgres"), "-D", str(self.datadir), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.basedir}",
                "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=100"]
        proc = self.procs.start(self.name, argv, user=PG_USER, cwd=self.basedir)
        wait_for(f"postgres on port {self.port}", lambda: proc.alive() and self._accepting()
                 or _raise_if_dead(proc.alive(), proc.output()), timeout=timeout)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): sessions are disconnected, data is checkpointed."""
        self.procs.stop(self.name, signal.SIGINT, timeout=30)

    def _accepting(self) -> bool:
        result = subprocess.run([str(PG_BINDIR / "pg_isready"), "-q", "-h", "127.0.0.1",
                                 "-p", str(self.port), "-t", "1"], check=False)
        return result.returncode == 0


def _raise_if_dead(alive: bool, output: str) -> None:
    if not alive:
        raise RuntimeError(f"postgres exited:\n{output[-3000:]}")


@contextlib.contextmanager
def throwaway_postgres(logdir: Path | None = None) -> Iterator[PgServer]:
    """initdb, start, yield the server; always stop it and delete its directory."""
    basedir = Path(tempfile.mkdtemp(prefix="testbed-pg-", dir="/tmp"))
    CREATED.append(basedir)
    procs = Processes(logdir or basedir)
    try:
        basedir.chmod(0o755)
        user = pwd.getpwnam(PG_USER)
        os.chown(basedir, user.pw_uid, user.pw_gid)
        server = PgServer(basedir, free_port(), secrets.token_hex(12), procs)
        _initdb(server, user)
        server.start()
        yield server
    finally:
        procs.close()
        shutil.rmtree(basedir, ignore_errors=True)


def _initdb(server: PgServer, user: pwd.struct_passwd) -> None:
    pwfile = server.basedir / "pwfile"
    pwfile.write_text(server.password + "\n")
    os.chown(pwfile, user.pw_uid, user.pw_gid)
    pwfile.chmod(0o600)
    argv = [str(PG_BINDIR / "initdb"), "-D", str(server.datadir), "-U", PG_USER,
            f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]
    result = subprocess.run(argv, user=PG_USER, group=PG_USER, extra_groups=[],
                            cwd=server.basedir, capture_output=True, text=True, check=False)
    pwfile.unlink()
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture()
def pg_server(tmp_path: Path) -> Iterator[PgServer]:
    """A fresh PostgreSQL server for one test (skipped where one cannot run)."""
    reason = pg_available()
    if reason is not None:
        pytest.skip(reason)
    with throwaway_postgres(tmp_path) as server:
        yield server
