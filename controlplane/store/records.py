"""What the drill and fault tables share: a connection, a clock and row helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from controlplane.errors import InvalidInput

__all__ = ["Records", "require_text"]


class Records:
    """Base of the table mixins of `Store`; the store sets both attributes when it opens."""

    _conn: sqlite3.Connection
    _clock: Callable[[], float]

    def now(self) -> float:
        """The store's clock: what its records are dated by."""
        return self._clock()

    def _one(self, sql: str, params: tuple[object, ...]) -> sqlite3.Row | None:
        """The first row; reading them all lets a `... RETURNING` write finish and commit."""
        rows: list[sqlite3.Row] = self._conn.execute(sql, params).fetchall()
        return rows[0] if rows else None

    def _insert(self, sql: str, params: tuple[object, ...]) -> sqlite3.Row:
        row = self._one(f"{sql} RETURNING *", params)
        assert row is not None, "INSERT ... RETURNING returned no row"
        return row

    def _refuse(self, table: str, noun: str, row_id: int, wanted: str) -> InvalidInput:
        """Why an update matched no row: the id is unknown, or the row's state forbids it."""
        row = self._one(f"SELECT state FROM {table} WHERE id = ?", (row_id,))
        if row is None:
            return InvalidInput(f"no {noun} with this id", field=f"{noun}_id", value=row_id)
        return InvalidInput(f"{noun} {row_id} is {row['state']}; {wanted}",
                            field=f"{noun}_id", value=row_id)


def require_text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be a non-empty string", field=field, value=value)
    return value
