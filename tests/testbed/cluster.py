"""The reference trading cluster's application services as real processes, for tests.

A throwaway PostgreSQL, the ledger bootstrapped through its CLI, then marketdata, two
matchers and the gateway, each `python -m testbed.<service> --config <json>` on free ports.
Everything started is killed when the context exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.http import call
from tests.support.net import free_port, wait_for
from tests.support.pg import PgServer, throwaway_postgres
from tests.support.procs import Processes

__all__ = ["APP_USER", "REPO", "TRADING", "Cluster", "running_cluster"]

REPO = Path(__file__).resolve().parents[2]
TRADING = REPO / "testbed" / "trading.yaml"
APP_USER = "trader"
SERVICES = ("marketdata-0", "matcher-0", "matcher-1", "gateway-0")


@dataclass
class Cluster:
    pg: PgServer
    procs: Processes
    workdir: Path
    app_password: str
    otlp_endpoint: str | None = None
    ports: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def gateway(self) -> str:
        return self.url("gateway-0")

    @property
    def ledger_dsn(self) -> str:
        return self.pg.dsn_for(APP_USER, self.app_password, "ledger")

    def config(self, name: str) -> dict[str, Any]:
        service, index = name.rsplit("-", 1)
        config: dict[str, Any] = {
            "service": service, "instance": name, "host": "127.0.0.1",
            "port": self.ports[name], "trading": str(TRADING),
            "otlp_endpoint": self.otlp_endpoint}
        if service in ("gateway", "matcher"):
            config |= {"ledger_dsn": self.ledger_dsn, "marketdata": self.url("marketdata-0")}
        if service == "gateway":
            config["matchers"] = [self.url("matcher-0"), self.url("matcher-1")]
        if service == "matcher":
            config |= {"shard": int(index), "shards": 2}
        return config

    def start(self, name: str, wait: bool = True) -> None:
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(self.config(name), indent=2))
        service = name.rsplit("-", 1)[0]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.procs.start(name, [sys.executable, "-m", f"testbed.{service}", "--config",
                                str(path)], env=env, cwd=REPO)
        if wait:
            self.wait_ready(name)

    def stop(self, name: str) -> int | None:
        return self.procs.stop(name)

    def wait_ready(self, name: str, timeout: float = 30.0) -> None:
        proc = self.procs.get(name)

        def ready() -> bool:
            if not proc.alive():
                raise RuntimeError(f"{name} exited:\n{proc.output()[-3000:]}")
            try:
                return call("GET", f"{self.url(name)}/readyz", timeout=2)[0] == 200
            except OSError:
                return False
        wait_for(f"{name} to be ready", ready, timeout=timeout, interval=0.1)

    def bootstrap(self) -> None:
        argv = [sys.executable, "-m", "testbed.ledger.bootstrap", "--superuser-dsn",
                self.pg.dsn, "--app-user", APP_USER]
        env = {**os.environ, "PYTHONPATH": str(REPO), "LEDGER_APP_PASSWORD": self.app_password}
        result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"bootstrap failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def running_cluster(workdir: Path, otlp_endpoint: str | None = None) -> Iterator[Cluster]:
    with throwaway_postgres(workdir) as pg:
        procs = Processes(workdir)
        cluster = Cluster(pg, procs, workdir, "app-pw-" + os.urandom(6).hex(), otlp_endpoint)
        try:
            cluster.bootstrap()
            cluster.ports = {name: free_port() for name in SERVICES}
            for name in SERVICES:
                cluster.start(name, wait=False)
            for name in SERVICES:
                cluster.wait_ready(name)
            yield cluster
        finally:
            procs.close()
