"""Shell completion of the names people type: runbooks, load profiles, experiment targets.

Click completes commands and options by itself; these complete arguments from the user's own
files (`--runbooks`, `--profiles` when given on the line, else the shipped ones). A file that
does not load completes nothing rather than printing an error into the shell.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from controlplane.errors import ControlPlaneError

__all__ = ["experiment_targets", "profile_names", "runbook_names"]


def runbook_names(ctx: click.Context, param: click.Parameter,
                  incomplete: str) -> list[CompletionItem]:
    from controlplane.runbooks.model import RUNBOOKS_DIR, load_runbooks

    try:
        found = load_runbooks(ctx.params.get("runbooks_dir") or RUNBOOKS_DIR)
    except (ControlPlaneError, OSError):
        return []
    return [CompletionItem(name, help=rb.description[:60])
            for name, (_, rb) in sorted(found.items()) if name.startswith(incomplete)]


def profile_names(ctx: click.Context, param: click.Parameter,
                  incomplete: str) -> list[CompletionItem]:
    from controlplane.load.profiles import load_profiles

    try:
        found = load_profiles(ctx.params.get("profiles_file"))
    except (ControlPlaneError, OSError):
        return []
    return [CompletionItem(name, help=p.description[:60])
            for name, p in sorted(found.items()) if name.startswith(incomplete)]


def experiment_targets(ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[CompletionItem]:
    """Tag selectors of the catalogue (`fault=process-kill`), then files and directories."""
    from controlplane.chaos.experiments import EXPERIMENTS_DIR

    selectors = sorted({tag.replace(":", "=", 1) for tag in _catalogue_tags(EXPERIMENTS_DIR)})
    return ([CompletionItem(s) for s in selectors if s.startswith(incomplete)]
            + [CompletionItem(incomplete, type="file")])


def _catalogue_tags(root: Path) -> set[str]:
    tags: set[str] = set()
    for path in root.rglob("*.json"):
        if path.name.startswith("_"):
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        tags |= {t for t in data.get("tags", []) if isinstance(t, str) and ":" in t}
    return tags
