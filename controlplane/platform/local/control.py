"""Fault controls of the local platform: nftables rules matched by cgroup, cgroup CPU caps, and
helper processes run in the state directory (so `down` sweeps them whatever happens)."""

from __future__ import annotations

import json
import os
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
                     env: dict[str, str] | None = None) -> int:
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
        return proc.pid

    def helpers(self, tag: str) -> list[int]:
        return [p.pid for p in find_owned([self.state.fault_dir(tag)]) if alive(p.pid)]

    def stop_helpers(self, tag: str) -> int:
        pids = self.helpers(tag)
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        kill_tree(pids, timeout=5)
        return len(pids)

    def processes(self, instance_id: str) -> list[tuple[int, str, str]]:
        _known(self.state, [instance_id])
        pids = set(self.cgroups.pids(instance_id))
        home = self._data_dirs.get(instance_id)
        if home is not None:                       # PostgreSQL's children run in its data dir
            pids |= {p.pid for p in find_owned([home])}
        out = []
        for pid in sorted(pids):
            state = proc_state(pid)
            if state:
                out.append((pid, state, _cmdline(pid)))
        return out

    def signal_processes(self, instance_id: str, match: str, sig: str) -> list[int]:
        signum = getattr(signal, f"SIG{sig.upper().removeprefix('SIG')}", None)
        if signum is None:
            raise PlatformError(f"unknown signal {sig!r}")
        hit = [pid for pid, _, cmd in self.processes(instance_id) if match in cmd]
        for pid in hit:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
        return hit

    def data_dir(self, instance_id: str) -> Path:
        _known(self.state, [instance_id])
        return self._data_dirs.get(instance_id) or self.state.instance_dir(instance_id)


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

    def __init__(self, admin_url: str | None) -> None:
        self.client = FaultProxyClient(admin_url) if admin_url else None

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
