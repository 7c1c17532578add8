"""What names a runbook from outside it: the runbook names an experiment's `runbook:` tag may
use, and the `runbook_url` each alert rule carries to the runbook its alert starts.

A light scan of the runbook files (their `name` and `trigger.alert`), not `load_runbook`: a
runbook the control plane would refuse still links from its alert (so `RunbooksNotLoaded` and
every other rule render while one file is broken), and this module imports no action.

`runbook_url` is the control plane's own page of the runbook, `<base>/api/v1/runbooks/<name>`:
Alertmanager and Grafana show the annotation as a link. The base is the control plane's URL as
on-call staff reach it; by default the address `controlplane serve` listens on.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from controlplane.project import project_folder

__all__ = ["DEFAULT_BASE_URL", "NO_RUNBOOK", "RUNBOOKS_DIR", "alert_runbooks", "runbook_names",
           "runbook_url", "runbook_urls"]

RUNBOOKS_DIR = project_folder("runbooks")
DEFAULT_BASE_URL = "http://127.0.0.1:4318"   # `controlplane serve`'s default address
NO_RUNBOOK = "none"                          # runbook:none, an experiment no runbook answers


def _documents(root: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(root.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue                # load_runbooks says why; a link needs only the name
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            found.append(data)
    return found


def runbook_names(root: Path = RUNBOOKS_DIR) -> frozenset[str]:
    """The names of the runbooks in `root` (read again only when a file there changed: the
    catalogue's 210 experiments ask once each)."""
    try:
        stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(root.glob("*.yaml")))
    except OSError:
        stamp = ()
    return _names(root, stamp)


@functools.lru_cache(maxsize=8)
def _names(root: Path, stamp: tuple[tuple[str, int], ...]) -> frozenset[str]:
    return frozenset(doc["name"] for doc in _documents(root))


def alert_runbooks(root: Path = RUNBOOKS_DIR) -> dict[str, str]:
    """{alert: the runbook it starts}; of several runbooks on one alert, the first by name."""
    found: dict[str, str] = {}
    for doc in sorted(_documents(root), key=lambda d: d["name"]):
        trigger = doc.get("trigger")
        alert = trigger.get("alert") if isinstance(trigger, dict) else None
        if isinstance(alert, str):
            found.setdefault(alert, doc["name"])
    return found


def runbook_url(name: str, base_url: str = DEFAULT_BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/api/v1/runbooks/{name}"


def runbook_urls(base_url: str = DEFAULT_BASE_URL, root: Path = RUNBOOKS_DIR) -> dict[str, str]:
    """{alert: the runbook_url of the runbook it starts}, for `render_rules`."""
    return {alert: runbook_url(name, base_url) for alert, name in alert_runbooks(root).items()}
