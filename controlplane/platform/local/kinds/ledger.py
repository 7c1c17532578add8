"""The ledger: PostgreSQL nodes run by Patroni, with etcd holding the leader lock.

Patroni runs as the `postgres` user when we are root. Each node lives in its own directory under
the PostgreSQL data root (`<node>/patroni.yml`, `<node>/data`), which is also the working
directory of Patroni and of every PostgreSQL process, so the sweep finds them all.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import aiohttp
import yaml

from controlplane.host.procs import alive
from controlplane.observe.ledger import normalize_role
from controlplane.platform.base import Health
from controlplane.platform.local.binaries import patroni_command, postgres_bindir
from controlplane.platform.local.kinds.base import BuildContext, Kind, ProcessSpec, write_file
from controlplane.platform.local.kinds.etcd import client_urls
from controlplane.platform.local.kinds.services import APP_USER
from controlplane.topology import LedgerSettings, Service

__all__ = [
    "KIND",
    "node_dir",
    "postmaster_pid",
    "render_config",
    "superuser_dsn",
]

def node_dir(ctx: BuildContext, inst: str) -> Path:
    return ctx.pg_root / inst


def superuser_dsn(ctx: BuildContext, inst: str, db: str = "postgres") -> str:
    return f"postgresql://postgres:{ctx.secrets['superuser']}@{ctx.addr(inst, 'postgres')}/{db}"


def render_config(ctx: BuildContext, name: str, inst: str) -> dict:
    settings: LedgerSettings = ctx.topology.services[name].typed_settings()
    home = node_dir(ctx, inst)
    hba = ["local all all trust",
           "host replication replicator 127.0.0.1/32 scram-sha-256",
           "host all all 127.0.0.1/32 scram-sha-256"]
    return {
        "scope": ctx.topology.name,
        "namespace": "/controlplane/",
        "name": inst,
        "log": {"level": "INFO", "format": "%(asctime)s %(levelname)s: %(message)s"},
        "restapi": {"listen": ctx.addr(inst, "api"), "connect_address": ctx.addr(inst, "api")},
        "etcd3": {"hosts": client_urls(ctx)},
        "bootstrap": {
            "dcs": {
                "ttl": settings.ttl, "loop_wait": settings.loop_wait,
                "retry_timeout": settings.retry_timeout,
                "synchronous_mode": settings.synchronous_mode,
                "synchronous_node_count": settings.synchronous_node_count,
                "synchronous_mode_strict": settings.synchronous_mode_strict,
                "maximum_lag_on_failover": settings.maximum_lag_on_failover,
                "postgresql": {"use_pg_rewind": True, "use_slots": True, "parameters": {
                    "wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
                    "max_connections": 200, "max_wal_senders": 10,
                    "max_replication_slots": 10, "synchronous_commit": "on",
                }},
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C"}, "data-checksums"],
            "pg_hba": hba,
        },
        "postgresql": {
            "listen": ctx.addr(inst, "postgres"),
            "connect_address": ctx.addr(inst, "postgres"),
            "data_dir": str(home / "data"),
            "bin_dir": str(postgres_bindir()),
            "pgpass": str(home / "pgpass"),
            "authentication": {
                "superuser": {"username": "postgres", "password": ctx.secrets["superuser"]},
                "replication": {"username": "replicator",
                                "password": ctx.secrets["replication"]},
                "rewind": {"username": "rewinder", "password": ctx.secrets["rewind"]},
            },
            "pg_hba": hba,
            "parameters": {"unix_socket_directories": str(home)},
        },
    }


def postmaster_pid(data_dir: Path) -> int | None:
    """The running postmaster of a data directory (Patroni starts it in its own session)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None
    return pid if alive(pid) and Path(cwd) == data_dir.resolve() else None


def _build(ctx: BuildContext, name: str, svc: Service, index: int) -> ProcessSpec:
    inst = f"{name}-{index}"
    home = node_dir(ctx, inst)
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    if ctx.pg_owner.user is not None:
        os.chown(home, ctx.pg_owner.uid, ctx.pg_owner.gid)
    cfg = write_file(home / "patroni.yml", yaml.safe_dump(render_config(ctx, name, inst)),
                     owner=ctx.pg_owner, mode=0o600)
    api = f"http://{ctx.addr(inst, 'api')}"
    data = home / "data"
    patroni, patroni_env = patroni_command(svc.typed_settings().patroni)

    async def probe(session: aiohttp.ClientSession) -> Health:
        now = time.time()
        try:
            async with session.get(api + "/patroni") as resp:
                status = json.loads(await resp.text())
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
            return Health(False, False, "", f"unreachable: {type(err).__name__}", now)
        role, state = normalize_role(status), str(status.get("state", ""))
        return Health(True, state == "running", role, state, now)

    def extra() -> list[int]:
        pid = postmaster_pid(data)
        return [pid] if pid else []

    return ProcessSpec(
        instance=inst, component=name, kind="ledger", cwd=home,
        argv=[*patroni, str(cfg)],
        endpoints={"postgres": ctx.addr(inst, "postgres"), "api": api},
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", **patroni_env},
        run_as=ctx.pg_owner, probe=probe, stop_timeout=20, extra_pids=extra)


def _service_ready(healths: list[Health], svc: Service) -> bool:
    roles = [h.role for h in healths if h.ready]
    if roles.count("primary") != 1 or len(roles) < len(healths):   # every node running
        return False
    settings: LedgerSettings = svc.typed_settings()
    return "sync_standby" in roles if settings.synchronous_mode else True


async def _bootstrap(ctx: BuildContext, name: str, primary: str) -> None:
    """Create the application role, database and schema on the new primary (idempotent)."""
    from testbed.ledger.bootstrap import bootstrap_ledger

    await bootstrap_ledger(superuser_dsn(ctx, primary), APP_USER, ctx.secrets["app"])


KIND = Kind(build=_build, scrape_port="api", start_timeout=120, after_ready=_bootstrap,
            service_ready=_service_ready)
