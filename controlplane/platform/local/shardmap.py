"""The matcher shard map's epoch, kept in the state directory (`<root>/shardmap.json`).

The epoch only grows: the supervisor bumps it when it starts the cluster and at every
resharding (scale out or in of the matcher). Matchers claim their symbols in the ledger under
it, and the ledger outlives a restart of the cluster, so a cluster started again must never
reuse an epoch an earlier run used (it would be fenced by its own past).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["bump_epoch", "read_epoch"]


def _path(root: Path) -> Path:
    return root / "shardmap.json"


def read_epoch(root: Path) -> int:
    """The epoch in force (1 when none was ever written)."""
    try:
        return max(1, int(json.loads(_path(root).read_text())["epoch"]))
    except (OSError, ValueError, KeyError, TypeError):
        return 1


def bump_epoch(root: Path) -> int:
    """A new epoch, one above the last one used, written before anyone uses it."""
    path = _path(root)
    epoch = read_epoch(root) + 1 if path.exists() else 1
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"epoch": epoch}))
    os.replace(tmp, path)
    return epoch
