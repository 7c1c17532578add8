"""`LocalPlatform`: the cluster as real processes on this machine, run by a supervisor daemon.

`up` writes the cluster record, starts the daemon and waits until every component is ready;
`down` asks the daemon to stop everything, then sweeps any process still running in the state
directory, so nothing is left behind even after a crash of the daemon.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controlplane.errors import (
    ClusterNotRunning,
    InvalidInput,
    PlatformError,
    Refused,
    UnknownTarget,
    Unsupported,
)
from controlplane.host.procs import ProcRef, alive, find_owned, kill_tree, run_as
from controlplane.platform.base import ClusterInfo, DeathCheck, DownReport, InstanceInfo, Platform
from controlplane.platform.local.binaries import check_all
from controlplane.platform.local.cgroups import Cgroups
from controlplane.platform.local.control import (
    LocalLinks,
    LocalNetwork,
    LocalResources,
    LocalServiceFaults,
)
from controlplane.platform.local.kinds.services import APP_USER
from controlplane.platform.local.nft import Nft
from controlplane.platform.local.state import ClusterRecord, StateDir
from controlplane.project import ENV as PROJECT_ENV
from controlplane.project import project_root
from controlplane.topology import MESH_SERVICE, Topology, parse_topology, resolve_ports
from controlplane.workspace import Workspace

TESTBED_KINDS = ("gateway", "matcher", "marketdata")
FENCE_WAIT_S = 10.0      # SIGKILL, then confirm_dead: a fence that takes longer has failed

__all__ = ["DownReport", "LocalPlatform"]

REPO_ROOT = Path(__file__).resolve().parents[3]


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class LocalPlatform(Platform):
    name = "local"

    def __init__(self, workspace: Workspace | Path | str, timeout: float = 30.0) -> None:
        super().__init__(workspace if isinstance(workspace, Workspace) else Workspace(workspace))
        self.state = StateDir(self.workspace.root)     # the cluster's own files, same root
        self.timeout = timeout

    # transport --------------------------------------------------------------------------
    def _call(self, method: str, path: str, timeout: float | None = None) -> Any:
        conn = _UnixConnection(self.state.socket, timeout or self.timeout)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            body = json.loads(resp.read() or b"{}")
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise ClusterNotRunning(
                f"no cluster is running in {self.state.root} ({type(err).__name__}); "
                "start one with `controlplane cluster up`") from None
        finally:
            conn.close()
        if resp.status >= 400:
            error = body.get("error", {})
            if error.get("type") == "UnknownTarget":
                raise UnknownTarget(error["kind"], error["name"], error["valid"])
            if error.get("type") == "Unsupported":
                raise Unsupported(error["platform"], error["capability"], error.get("hint", ""))
            if error.get("type") == "Refused":
                raise Refused(error.get("message", "refused"))
            raise PlatformError(error.get("message", f"HTTP {resp.status}"))
        return body

    def is_up(self) -> bool:
        try:
            self._call("GET", "/v1/cluster", timeout=3)
            return True
        except ClusterNotRunning:
            return False

    # Platform ---------------------------------------------------------------------------
    def topology(self) -> Topology:
        if not self.state.exists():
            raise ClusterNotRunning(f"no cluster record in {self.state.root}; start one with "
                                    "`controlplane cluster up`")
        topo = parse_topology(self.state.read_cluster().topology, str(self.state.cluster_file))
        return topo.effective()

    def ledger_dsn(self) -> str:
        name, _ = self.topology().by_kind("haproxy")
        port = self.state.read_cluster().ports[f"{name}-0"]["primary"]
        return (f"postgresql://{APP_USER}:{self.state.secrets()['app']}@127.0.0.1:{port}"
                "/ledger")

    def admin_request(self, instance_id: str, method: str, path: str,
                      body: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        inst = self.info().known(instance_id)
        url = inst.endpoints.get("http")
        if url is None:
            raise UnknownTarget("service instance with an admin API", instance_id,
                                [i.id for i in self.info().instances if "http" in i.endpoints])
        req = urllib.request.Request(
            url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.state.secrets()['admin']}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            raise PlatformError(f"{instance_id} answered {err.code} to {method} {path}") \
                from None
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise PlatformError(f"{instance_id} did not answer {method} {path}: {err}") \
                from None

    def ledger_admin_dsn(self, instance_id: str) -> str:
        ports = self.state.read_cluster().ports
        if instance_id not in ports or "postgres" not in ports[instance_id]:
            raise UnknownTarget("ledger node", instance_id,
                                sorted(i for i, p in ports.items() if "postgres" in p))
        return (f"postgresql://postgres:{self.state.secrets()['superuser']}@127.0.0.1:"
                f"{ports[instance_id]['postgres']}/ledger")

    def info(self) -> ClusterInfo:
        return ClusterInfo.from_dict(self._call("GET", "/v1/cluster"))

    def network(self) -> LocalNetwork:
        """nftables by cgroup; a mesh link's port counts as a port of the server it leads to."""
        extra: dict[str, list[int]] = {}
        for link, port in self.state.read_cluster().ports.get(f"{MESH_SERVICE}-0", {}).items():
            if "->" in link:
                extra.setdefault(link.split("->", 1)[1], []).append(port)
        return LocalNetwork(self.state, extra)

    def links(self) -> LocalLinks:
        mesh = self.state.read_cluster().ports.get(f"{MESH_SERVICE}-0")
        return LocalLinks(f"http://127.0.0.1:{mesh['admin']}" if mesh else None,
                          self.state.secrets()["admin"])

    def service_faults(self) -> LocalServiceFaults:
        topo = self.topology()
        urls = {inst: f"http://127.0.0.1:{ports['http']}"
                for inst, ports in self.state.read_cluster().ports.items()
                if topo.services.get(inst.rsplit("-", 1)[0]) is not None
                and topo.services[inst.rsplit("-", 1)[0]].kind in TESTBED_KINDS}
        return LocalServiceFaults(urls, self.state.secrets()["admin"])

    def resources(self) -> LocalResources:
        return LocalResources(self.state, self._data_dirs())

    def _data_dirs(self) -> dict[str, Path]:
        topo = self.topology()
        pg_root = self.state.postgres_data_root(run_as("postgres"))
        dirs = {}
        for name, svc in topo.services.items():
            for inst in self.state.read_cluster().ports:
                if inst.rsplit("-", 1)[0] != name:
                    continue
                if svc.kind == "ledger":
                    dirs[inst] = pg_root / inst / "data"
                elif svc.kind in ("etcd", "prometheus"):
                    dirs[inst] = self.state.data(inst)
        return dirs

    def _act(self, instance_id: str, action: str, query: str = "") -> InstanceInfo:
        data = self._call("POST", f"/v1/instances/{instance_id}/{action}{query}")
        return InstanceInfo.from_dict(data)

    def stop(self, instance_id: str) -> InstanceInfo:
        return self._act(instance_id, "stop")

    def start(self, instance_id: str) -> InstanceInfo:
        return self._act(instance_id, "start")

    def kill(self, instance_id: str, *, graceful: bool = False) -> InstanceInfo:
        return self._act(instance_id, "kill", f"?signal={'TERM' if graceful else 'KILL'}")

    def freeze(self, instance_id: str) -> InstanceInfo:
        return self._act(instance_id, "pause")

    def thaw(self, instance_id: str) -> InstanceInfo:
        return self._act(instance_id, "resume")

    def confirm_dead(self, instance_id: str, incarnation: str = "") -> DeathCheck:
        """Dead when the supervisor sees no live main process and no process of the instance
        is left in its cgroup or data directory (PostgreSQL's children outlive Patroni)."""
        now = self.info().known(instance_id)       # NotFound for an unknown instance
        if incarnation:
            pid, _, started = incarnation.partition("@")
            if pid.isdigit() and alive(int(pid)) and now.incarnation == incarnation:
                return DeathCheck(False, f"{instance_id} (pid {pid}, started {started}) runs")
        elif now.running:
            return DeathCheck(False, f"{instance_id}'s main process still runs")
        left = self.resources().live_pids(instance_id)
        if left and not incarnation:
            return DeathCheck(False, f"{instance_id} still has {len(left)} processes")
        return DeathCheck(True, f"no process of {instance_id} is left"
                          if not left else f"that life of {instance_id} is over")

    def fence(self, instance_id: str) -> InstanceInfo:
        """SIGKILL of every process of the instance through the supervisor (which keeps it
        down until `start`), then of anything of it still alive in its cgroup or data
        directory, until `confirm_dead` holds; `PlatformError` if it does not within
        FENCE_WAIT_S. A frozen process dies of SIGKILL without being thawed."""
        self._act(instance_id, "fence")
        deadline = time.monotonic() + FENCE_WAIT_S
        while not (check := self.confirm_dead(instance_id)).dead:
            if time.monotonic() > deadline:
                raise PlatformError(f"{instance_id} is not fenced after {FENCE_WAIT_S:g} s: "
                                    f"{check.detail}")
            for pid in self.resources().live_pids(instance_id):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.05)
        return self.info().known(instance_id)

    def scale(self, component: str) -> InstanceInfo:
        return InstanceInfo.from_dict(self._call("POST", f"/v1/components/{component}/scale",
                                                 timeout=max(self.timeout, 120.0)))

    def scale_in(self, component: str) -> InstanceInfo:
        return InstanceInfo.from_dict(self._call(
            "POST", f"/v1/components/{component}/scale?direction=in",
            timeout=max(self.timeout, 120.0)))

    def scale_reports(self) -> list[dict[str, Any]]:
        """The recent scale operations of the supervisor, with their steps (wall-clock)."""
        return list(self._call("GET", "/v1/scale-reports")["reports"])

    # lifecycle --------------------------------------------------------------------------
    def up(self, topology: Topology, *, all_auto_ports: bool = False, timeout: float = 300.0,
           progress: Callable[[ClusterInfo], None] | None = None) -> ClusterInfo:
        check_all()
        if self.is_up():
            raise PlatformError(f"a cluster is already running in {self.state.root}; see "
                                "`controlplane cluster status`, or stop it with `cluster down`")
        swept = self._sweep()
        if swept:
            print(f"swept {len(swept)} processes left by an earlier crash", file=sys.stderr)
        self._write_record(topology, all_auto_ports)
        daemon = self._start_daemon()
        try:
            return self._wait_ready(daemon, timeout, progress)
        except BaseException:
            self.down()
            raise

    def _write_record(self, topology: Topology, all_auto_ports: bool) -> None:
        data = topology.model_dump(mode="json")
        if self.state.exists():
            old = self.state.read_cluster()
            before = parse_topology(old.topology, str(self.state.cluster_file)).effective()
            if before.model_dump(mode="json") != topology.effective().model_dump(mode="json"):
                raise InvalidInput(
                    "this state directory holds a cluster started from a different topology",
                    source=str(self.state.cluster_file),
                    fix="Run `controlplane cluster down --purge` to discard it, or pass another "
                    "--state-dir")
            _check_ports_free(old.ports)
            return
        self.state.make()
        owner = run_as("postgres")
        pg_root = self.state.postgres_data_root(owner)
        extra = [] if pg_root == self.state.root / "data" else [str(pg_root)]
        ports = resolve_ports(topology, all_auto=all_auto_ports).ports
        _check_ports_free(ports)
        self.state.write_cluster(ClusterRecord(topology.name, data, ports, extra))

    def _start_daemon(self) -> subprocess.Popen:
        with open(self.state.supervisor_log, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "controlplane.platform.local.daemon",
                 "--state", str(self.state.root)],
                cwd=self.state.root, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                # the daemon runs in the state directory: it acts for the project that started it
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT), PROJECT_ENV: str(project_root())})

    def _wait_ready(self, daemon: subprocess.Popen, timeout: float,
                    progress: Callable[[ClusterInfo], None] | None) -> ClusterInfo:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                raise PlatformError(f"the supervisor exited with {daemon.returncode}; see "
                                    f"{self.state.supervisor_log}")
            try:
                info = self.info()
            except ClusterNotRunning:
                time.sleep(0.1)
                continue
            if progress:
                progress(info)
            if info.phase == "ready":
                return info
            if info.phase == "failed":
                raise PlatformError(f"cluster start failed: {info.detail}")
            time.sleep(0.3)
        raise PlatformError(f"cluster not ready after {timeout:.0f} s; see the logs in "
                            f"{self.state.root / 'logs'}")

    def down(self, *, purge: bool = False, timeout: float = 90.0) -> DownReport:
        stopped = False
        pid = self.state.supervisor_pid()
        try:
            self._call("POST", "/v1/shutdown", timeout=5)
            stopped = _wait_exit(pid, timeout) if pid else True
        except (ClusterNotRunning, PlatformError, OSError):
            pass
        if pid and alive(pid):
            kill_tree([pid], timeout=10)
        swept = [f"pid {p.pid}: {p.cmdline[:100]}" for p in self._sweep()]
        Nft(self.state.nft_table).drop()          # network faults die with the cluster
        Cgroups(self.state.cgroup_name).remove()
        if purge:
            self._purge()
        return DownReport(stopped=stopped, swept=swept)

    def _sweep(self) -> list[ProcRef]:
        if not self.state.root.exists():
            return []
        found = find_owned(self.state.roots())
        if found:
            kill_tree([p.pid for p in found], timeout=10)
        return found

    def _purge(self) -> None:
        roots = self.state.roots()
        self.state.socket.unlink(missing_ok=True)
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def _check_ports_free(ports: dict[str, dict[str, int]]) -> None:
    for inst, named in ports.items():
        for pname, port in named.items():
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    raise InvalidInput(
                        f"port {port} ({inst} {pname}) is already in use", field="ports",
                        fix="Free the port, run `controlplane cluster up --ports auto`, or "
                        "change it in the topology") from None

