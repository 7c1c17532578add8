"""The bound on distinct alert names at the intake. Each name is a label value of the
intake's metrics and a trigger the runbooks look up, so made-up names must not grow them
without end: 20,000 of them grew /metrics from 62 KB to 4.25 MB (issue 10), and they never
resolve. Past the limit, an alert of a new name is refused; names already held keep coming.
"""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.errors import InvalidInput
from controlplane.observe.alerts import Batch

__all__ = ["AlertNames"]


class AlertNames:
    """The names the intake admits: each one it holds, and a new one while it holds fewer
    than `limit`. Seed it with the names the store holds, oldest first."""

    def __init__(self, limit: int, held: Iterable[str] = ()) -> None:
        self.limit = limit
        self.held = set(held)

    def refuse_new(self, batch: Batch) -> int:
        """Move each alert of a new name past the limit from `batch.alerts` to
        `batch.invalid`; how many moved."""
        refused = [i for i, alert in batch.alerts.items() if not self._admit(alert.alertname)]
        for i in refused:
            batch.invalid[i] = InvalidInput(
                f"a new alert name, and the intake already holds {self.limit} distinct names, "
                "its limit", field=f"{batch.where(i)}.labels.alertname",
                value=batch.alerts.pop(i).alertname,
                fix="Check where the names come from; if they are real, raise the limit "
                    "(controlplane serve --max-alert-names)")
        return len(refused)

    def _admit(self, name: str) -> bool:
        if name in self.held:
            return True
        if len(self.held) >= self.limit:
            return False
        self.held.add(name)
        return True
