"""A workspace: the directory where the control plane keeps what it records about one cluster.

    <root>/target.json         which platform the cluster runs on (written when it is loaded)
    <root>/controlplane.db     the durable store (drills, faults, runs, runbooks, audit)
    <root>/reports/            drill plots, chaos and GameDay reports
    <root>/chaos/locks/        one lock file per target a chaos run holds
    <root>/chaos/<tag>/        scratch space of one fault (its helpers' progress files)
    <root>/notifications.log   what runbooks told on-call
    <root>/fake-cluster.json   the fake platform's cluster (tests only)

On the local platform the cluster's own files (processes, data, logs) live in the same directory;
on a remote platform only the workspace is local. Callers reach these paths here, never through a
platform's internals.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from controlplane.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Iterator

    from controlplane.store import Store

__all__ = ["Workspace", "default_root"]


def default_root(topology_name: str, base: Path | None = None) -> Path:
    """`.state/<topology name>` under the current directory (or `base`)."""
    return (base or Path.cwd()) / ".state" / topology_name


class Workspace:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # layout -----------------------------------------------------------------------------
    @property
    def store_path(self) -> Path:
        return self.root / "controlplane.db"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def locks_dir(self) -> Path:
        return self.root / "chaos" / "locks"

    @property
    def notifications_log(self) -> Path:
        return self.root / "notifications.log"

    @property
    def target_file(self) -> Path:
        return self.root / "target.json"

    def scratch(self, tag: str) -> Path:
        """Scratch directory of one fault (`tag`): its helpers' progress files."""
        return self.root / "chaos" / tag

    def exists(self) -> bool:
        return self.root.is_dir()

    # the store --------------------------------------------------------------------------
    @contextmanager
    def store(self) -> Iterator[Store]:
        """The durable store, opened (and migrated) for the length of a `with` block."""
        from controlplane.store import Store

        store = Store(self.store_path)
        try:
            yield store
        finally:
            store.close()

    # which platform ---------------------------------------------------------------------
    def record_platform(self, name: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.target_file.with_name(f".target.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"platform": name}) + "\n")
        tmp.replace(self.target_file)

    def platform_name(self) -> str:
        """The platform recorded for this workspace; `local` when none was (the clusters that
        `controlplane cluster up` started before the record existed)."""
        if not self.target_file.exists():
            return "local"
        try:
            name = json.loads(self.target_file.read_text())["platform"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise InvalidInput(f"unreadable ({type(err).__name__})", source=str(self.target_file),
                               field="platform",
                               fix="Delete the file: the next `cluster up` writes it again") \
                from None
        if not isinstance(name, str):
            raise InvalidInput("must be a platform name", source=str(self.target_file),
                               field="platform", value=name, fix="Delete the file")
        return name
