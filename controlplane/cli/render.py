"""Tables and summaries for people reading a terminal."""

from __future__ import annotations

from rich.table import Table

from controlplane.platform.base import ClusterInfo, InstanceInfo

__all__ = ["health_word", "status_table"]


def health_word(inst: InstanceInfo) -> str:
    if inst.state == "paused":
        return "[yellow]paused[/]"
    if inst.health.ready:
        return "[green]ready[/]"
    if inst.health.alive:
        return "[yellow]not ready[/]"
    return "[red]down[/]" if inst.state not in ("starting", "pending") else "[dim]starting[/]"


def _address(inst: InstanceInfo) -> str:
    order = ("http", "primary", "postgres", "client", "admin")
    for key in order:
        if key in inst.endpoints:
            return inst.endpoints[key].removeprefix("http://")
    return next(iter(inst.endpoints.values()), "").removeprefix("http://")


def status_table(info: ClusterInfo) -> Table:
    table = Table(title=f"cluster {info.name} ({info.platform}): {info.phase}"
                  + (f" - {info.detail}" if info.detail else ""), title_justify="left")
    for col in ("instance", "state", "health", "role", "address", "process", "restarts", "detail"):
        table.add_column(col, no_wrap=col != "detail")
    for inst in info.instances:
        table.add_row(inst.id, inst.state, health_word(inst), inst.health.role or "-",
                      _address(inst), inst.handle or "-", str(inst.restarts),
                      inst.health.detail if not inst.health.ready else
                      inst.health.detail if inst.kind == "haproxy" else "")
    return table
