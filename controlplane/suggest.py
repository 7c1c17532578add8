""""Did you mean ...?" for names a user mistyped: keys of a file, targets of an experiment.

`fix_for(word, valid, what)` is the `fix` of an `InvalidInput`: the closest valid name (by
difflib's ratio) when one is close enough, then the valid names themselves, cut to a length
an error message can carry.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "fix_for"]

CUTOFF = 0.6                # difflib's default: 'gatewya' -> 'gateway', 'tolerence' -> ...
MAX_LISTED = 30             # valid names shown at once


def closest(word: object, valid: Iterable[str]) -> str | None:
    """The valid name closest to `word`, if one is close enough to be a likely typo."""
    if not isinstance(word, str):
        return None
    found = difflib.get_close_matches(word, list(valid), n=1, cutoff=CUTOFF)
    return found[0] if found else None


def fix_for(word: object, valid: Iterable[str], what: str) -> str:
    """'Did you mean 'gateway'? Valid targets: a, b, c' (`what` is the plural noun)."""
    names = sorted(set(valid))
    shown = ", ".join(names[:MAX_LISTED]) or "(none)"
    if len(names) > MAX_LISTED:
        shown += f", and {len(names) - MAX_LISTED} more"
    guess = closest(word, names)
    hint = f"Did you mean {guess!r}? " if guess else ""
    return f"{hint}Valid {what}: {shown}"
