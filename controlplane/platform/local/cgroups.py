"""Control groups per instance, so that faults can target one component's processes:
nftables matches a socket's cgroup v2 path (network faults), the cpu and memory controllers
throttle or squeeze one instance (resource faults).

Works with a pure cgroup v2 mount and with the hybrid layout (v1 controllers plus v2 at
/sys/fs/cgroup/unified). Our groups are created under the cgroup the supervisor runs in, per
controller, so limits set on us (a sandbox's memory limit, say) still apply to the cluster.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CgroupPath", "Cgroups"]

log = logging.getLogger(__name__)
SYSFS = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CgroupPath:
    """Where nftables finds a cgroup: a path relative to /sys/fs/cgroup and its v2 level."""

    nft_path: str
    level: int


def _mounts() -> tuple[Path | None, dict[str, Path]]:
    v2, v1 = None, {}
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, right = line.split(" - ", 1)
            mount, (fstype, _, opts) = left.split()[4], right.split()[:3]
            if fstype == "cgroup2":
                v2 = Path(mount)
            elif fstype == "cgroup":
                for ctrl in ("cpu", "memory"):
                    if ctrl in opts.split(","):
                        v1[ctrl] = Path(mount)
    return v2, v1


def _own(controller: str | None) -> str:
    """This process's cgroup path for a v1 controller, or in v2 (controller None)."""
    with open("/proc/self/cgroup") as fh:
        for line in fh:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if (controller is None and ctrls == "") or controller in ctrls.split(","):
                return path.lstrip("/")
    return ""


class Cgroups:
    def __init__(self, name: str) -> None:
        self.name = name
        v2, v1 = _mounts()
        self.v2 = v2 / _own(None) / name if v2 else None
        self.v1 = {c: m / _own(c) / name for c, m in v1.items()}
        self._v2_depth = len(Path(_own(None)).parts) if v2 else 0

    def available(self) -> bool:
        return os.geteuid() == 0 and self.v2 is not None and self.v2.parent.exists()

    # placement ---------------------------------------------------------------------------
    def place(self, instance: str, pid: int) -> bool:
        """Move a process (and so its future children) into the instance's groups."""
        if not self.available():
            return False
        try:
            for group in self._groups(instance):
                group.mkdir(parents=True, exist_ok=True)
                (group / "cgroup.procs").write_text(str(pid))
        except OSError as err:
            log.warning("cannot place %s (pid %d) in its cgroup: %s", instance, pid, err)
            return False
        return True

    def _groups(self, instance: str) -> list[Path]:
        groups = [self.v2 / instance] if self.v2 else []
        return groups + [root / instance for root in self.v1.values()]

    def pids(self, instance: str) -> list[int]:
        if self.v2 is None:
            return []
        try:
            text = (self.v2 / instance / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def nft(self, instance: str) -> CgroupPath:
        group = self.v2 / instance
        rel = group.relative_to(SYSFS) if group.is_relative_to(SYSFS) else group
        return CgroupPath(str(rel), self._v2_depth + 2)

    # resource limits ---------------------------------------------------------------------
    def set_cpu(self, instance: str, cores: float | None) -> None:
        """Cap the instance at `cores` CPUs (None lifts the cap)."""
        period = 100_000
        quota = -1 if cores is None else max(1000, int(cores * period))
        if "cpu" in self.v1:
            (self.v1["cpu"] / instance / "cpu.cfs_period_us").write_text(str(period))
            (self.v1["cpu"] / instance / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            self._enable_v2("cpu")
            value = "max" if quota < 0 else str(quota)
            (self.v2 / instance / "cpu.max").write_text(f"{value} {period}")

    def cpu_limit(self, instance: str) -> float | None:
        if "cpu" in self.v1:
            quota = int((self.v1["cpu"] / instance / "cpu.cfs_quota_us").read_text())
            period = int((self.v1["cpu"] / instance / "cpu.cfs_period_us").read_text())
        else:
            q, p = (self.v2 / instance / "cpu.max").read_text().split()
            quota, period = (-1 if q == "max" else int(q)), int(p)
        return None if quota < 0 else quota / period

    def _enable_v2(self, controller: str) -> None:
        with contextlib.suppress(OSError):
            (self.v2 / "cgroup.subtree_control").write_text(f"+{controller}")

    # cleanup -----------------------------------------------------------------------------
    def remove(self) -> None:
        """Remove every group of this cluster (their processes must have exited)."""
        roots = [self.v2] if self.v2 else []
        for root in [*roots, *self.v1.values()]:
            if not root.exists():
                continue
            for child in sorted(root.iterdir(), reverse=True):
                if child.is_dir():
                    with contextlib.suppress(OSError):
                        child.rmdir()
            with contextlib.suppress(OSError):
                root.rmdir()
