"""Fault controls of the local platform: nftables rules matched by cgroup, cgroup CPU caps, and
helper processes run in the state directory (so `down` sweeps them whatever happens)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from controlplane.errors import PlatformError, UnknownTarget
from controlplane.host.procs import alive, find_owned, kill_tree, proc_state
from controlplane.platform.base import LinkControl, NetworkControl, ResourceControl, ServiceFaults
from controlplane.platform.local.cgroups import Cgroups
from controlplane.platform.local.faultproxy.client import FaultProxyClient
from controlplane.platform.local.nft import Nft
from controlplane.platform.local.state import StateDir

__all__ = ["LocalLinks", "LocalNetwork", "LocalResources", "LocalServiceFaults"]

REPO_ROOT = Path(__file__).resolve().parents[3]


def _known(state: StateDir, ids: list[str]) -> dict[str, dict[str, int]]:
    ports = state.read_cluster().ports
    for inst in ids:
        if inst not in ports:
            raise UnknownTarget("instance", inst, sorted(ports))
    return ports


class LocalNetwork(NetworkControl):
    def __init__(self, state: StateDir, extra_ports: dict[str, list[int]] | None = None) -> None:
        self.state = state
        self.nft = Nft(state.nft_table)
        self.cgroups = Cgroups(state.cgroup_name)
        # ports that also lead to an instance (e.g. fault-proxy listeners in front of it)
        self.extra_ports = extra_ports or {}

    def _require_cgroups(self) -> None:
        Nft.require()
        if not self.cgroups.available():
            raise PlatformError("network faults need cgroup v2 to tell components apart; "
                                "none is mounted or writable here")

    def block(self, tag: str, sources: list[str], destinations: list[str],
              percent: float = 100.0) -> list[str]:
        if not 0 < percent <= 100:
            raise PlatformError(f"percent must be in (0, 100], got {percent}")
        self._require_cgroups()
        ports = _known(self.state, sources + destinations)
        dports = sorted({p for d in destinations for p in ports[d].values()}
                        | {p for d in destinations for p in self.extra_ports.get(d, [])})
        loss = "" if percent >= 100 else f"numgen random mod 10000 < {int(percent * 100)} "
        rules = []
        for src in sources:
            cg = self.cgroups.nft(src)
            rules.append(f'socket cgroupv2 level {cg.level} "{cg.nft_path}" ip daddr 127.0.0.0/8 '
                         f'tcp dport {{ {", ".join(map(str, dports))} }} {loss}counter drop')
        self.nft.add(tag, rules)
        return rules

    def unblock(self, tag: str) -> int:
        return self.nft.delete(tag)

    def active(self, tag: str) -> list[dict[str, Any]]:
        out = []
        for rule in self.nft.rules(tag):
            counter = next((e["counter"] for e in rule.get("expr", []) if "counter" in e), {})
            out.append({"handle": rule["handle"], "packets": counter.get("packets", 0),
                        "bytes": counter.get("bytes", 0)})
        return out


class LocalResources(ResourceControl):
    def __init__(self, state: StateDir, data_dirs: dict[str, Path]) -> None:
        self.state = state
        self.cgroups = Cgroups(state.cgroup_name)
        self._data_dirs = data_dirs

    def set_cpu_limit(self, instance_id: str, cores: float | None) -> None:
        _known(self.state, [instance_id])
        if not self.cgroups.available():
            raise PlatformError("CPU limits need root and a cgroup cpu controller")
        self.cgroups.set_cpu(instance_id, cores)

    def cpu_limit(self, instance_id: str) -> float | None:
        return self.cgroups.cpu_limit(instance_id)

    def spawn_helper(self, tag: str, instance_id: str | None, argv: list[str],
                     env: dict[str, str] | None = None) -> str:
        cwd = self.state.fault_dir(tag)
        cwd.mkdir(parents=True, exist_ok=True)
        with open(cwd / "helper.log", "ab") as log:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    env={**os.environ, "PYTHONPATH": str(REPO_ROOT),
                                         **(env or {})})
        if instance_id is not None:
            self.cgroups.place(instance_id, proc.pid)
        (cwd / f"helper-{proc.pid}.pid").write_text(str(proc.pid))
        return f"pid {proc.pid}"

    def _helper_pids(self, tag: str) -> list[int]:
        return [p.pid for p in find_owned([self.state.fault_dir(tag)]) if alive(p.pid)]

    def helpers(self, tag: str) -> list[str]:
        return [f"pid {pid}" for pid in self._helper_pids(tag)]

    def helper_usage(self, tag: str) -> dict[str, float]:
        pids = self._helper_pids(tag)
        return {"count": len(pids), "cpu_seconds": sum(_cpu_seconds(p) for p in pids),
                "resident_mb": sum(_rss_mb(p) for p in pids)}

    def stop_helpers(self, tag: str) -> int:
        pids = self._helper_pids(tag)
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        kill_tree(pids, timeout=5)
        return len(pids)

    def live_pids(self, instance_id: str) -> list[int]:
        """Every live process of the instance: its cgroup, and (PostgreSQL's children run
        there) its data directory."""
        _known(self.state, [instance_id])
        pids = set(self.cgroups.pids(instance_id))
        home = self._data_dirs.get(instance_id)
        if home is not None:
            pids |= {p.pid for p in find_owned([home])}
        return sorted(pid for pid in pids if proc_state(pid))

    def _matching(self, instance_id: str, match: str) -> list[int]:
        return [pid for pid in self.live_pids(instance_id) if match in _cmdline(pid)]

    def _signal(self, instance_id: str, match: str, sig: int) -> int:
        hit = 0
        for pid in self._matching(instance_id, match):
            try:
                os.kill(pid, sig)
                hit += 1
            except ProcessLookupError:
                pass
        return hit

    def freeze_processes(self, instance_id: str, match: str) -> int:
        return self._signal(instance_id, match, signal.SIGSTOP)

    def thaw_processes(self, instance_id: str, match: str) -> int:
        return self._signal(instance_id, match, signal.SIGCONT)

    def process_states(self, instance_id: str, match: str) -> list[str]:
        states = [proc_state(pid) for pid in self._matching(instance_id, match)]
        return ["frozen" if s == "T" else "running" for s in states if s]

    def _data_dir(self, instance_id: str) -> Path:
        _known(self.state, [instance_id])
        return self._data_dirs.get(instance_id) or self.state.instance_dir(instance_id)

    def _fill_path(self, tag: str, instance_id: str) -> Path:
        return self._data_dir(instance_id) / f".chaos-fill-{tag}"

    def fill_disk(self, tag: str, instance_id: str, megabytes: int) -> None:
        with open(self._fill_path(tag, instance_id), "wb") as fh:
            chunk = b"\0" * 2**20
            for _ in range(megabytes):
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())

    def disk_fill_mb(self, tag: str, instance_id: str) -> float:
        path = self._fill_path(tag, instance_id)
        return path.stat().st_size / 2**20 if path.exists() else 0.0

    def clear_disk_fill(self, tag: str, instance_id: str) -> None:
        self._fill_path(tag, instance_id).unlink(missing_ok=True)

    def disk_free_mb(self, instance_id: str) -> float:
        return shutil.disk_usage(self._data_dir(instance_id)).free / 2**20


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def python_helper(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


class LocalLinks(LinkControl):
    """The mesh's links, through the fault proxy's admin API."""

    def __init__(self, admin_url: str | None, token: str | None = None) -> None:
        self.client = FaultProxyClient(admin_url, token=token) if admin_url else None

    def _proxy(self) -> FaultProxyClient:
        if self.client is None:
            raise PlatformError("this cluster runs without the mesh (topology mesh: false), so "
                                "links cannot be faulted; set mesh: true and restart it")
        return self.client

    def links(self) -> list[dict[str, Any]]:
        out = []
        for link in self._proxy().links():
            client, _, server = link["name"].partition("->")
            out.append({**link, "client": client, "server": server})
        return out

    def set_fault(self, link: str, spec: dict[str, Any]) -> dict[str, Any]:
        return self._proxy().set_fault(link, spec)

    def clear(self, link: str) -> bool:
        return self._proxy().clear(link)


class LocalServiceFaults(ServiceFaults):
    """Each testbed service's /admin/faults, with the cluster's admin token."""

    def __init__(self, urls: dict[str, str], token: str) -> None:
        self.urls, self.token = urls, token

    def _call(self, instance_id: str, method: str, body: dict[str, Any] | None = None) -> Any:
        if instance_id not in self.urls:
            raise UnknownTarget("service instance", instance_id, sorted(self.urls))
        req = urllib.request.Request(
            self.urls[instance_id] + "/admin/faults", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            detail = json.loads(err.read() or b"{}").get("error", {})
            raise PlatformError(f"{instance_id} refused the fault: {detail.get('message')} "
                                f"({detail.get('field', '')})") from None
        except (urllib.error.URLError, OSError) as err:
            raise PlatformError(f"{instance_id} did not answer: {err}") from None

    def set_fault(self, instance_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call(instance_id, "PUT", spec))

    def fault(self, instance_id: str) -> dict[str, Any] | None:
        return self._call(instance_id, "GET").get("fault")

    def clear(self, instance_id: str) -> bool:
        return bool(self._call(instance_id, "DELETE").get("cleared"))
