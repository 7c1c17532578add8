"""The dashboards as JSON: one `<name>.json` per dashboard, keys sorted and indented so the
committed files diff well, and the queries each panel runs (for the cluster test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from controlplane.dashboards.boards import BOARDS
from controlplane.project import PACKAGED, project_root

__all__ = ["DASHBOARDS_DIR", "check_dir", "panel_queries", "render_all", "write_all"]

# outside any project, an installed package is no place to write: ./dashboards instead
DASHBOARDS_DIR = (Path("dashboards") if project_root() == PACKAGED
                  else project_root() / "dashboards")


def render_all() -> dict[str, str]:
    """`<name>.json` -> its text, for every dashboard."""
    return {f"{name}.json": JSONEncoder(sort_keys=True, indent=2).encode(build().build()) + "\n"
            for name, build in BOARDS.items()}


def write_all(out: Path) -> list[Path]:
    """Write every dashboard into `out` (created if needed); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in render_all().items():
        path = out / filename
        path.write_text(text)
        written.append(path)
    return written


def check_dir(out: Path) -> list[str]:
    """The files in `out` that differ from what would be written (or are missing)."""
    stale = []
    for filename, text in render_all().items():
        path = out / filename
        if not path.is_file() or path.read_text() != text:
            stale.append(str(path))
    return stale


def panel_queries(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every query of every panel of a dashboard document."""
    return [(p.get("title", ""), t["expr"]) for p in document.get("panels", [])
            for t in p.get("targets", []) if "expr" in t]
