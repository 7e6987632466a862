"""The connection the state tables are kept through, as a type: what the state and the store
ask of it. ``sqlite3.Connection`` satisfies it, and so does the store's PostgreSQL adapter
(ADR 0010), which takes the same SQL; nothing here runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

__all__ = ["SqlConnection", "SqlCursor"]


class SqlCursor(Protocol):
    """The result of ``SqlConnection.execute``: rows as tuples, and the count a write
    changed."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> list[Any]:
        """The remaining rows."""

    def fetchmany(self, size: int = ..., /) -> list[Any]:
        """Up to ``size`` of the remaining rows."""

    def __iter__(self) -> Iterator[Any]:
        """The remaining rows, one at a time."""

    @property
    def rowcount(self) -> int:
        """Rows changed by the statement (a write)."""


class SqlConnection(Protocol):
    """A database connection in autocommit mode whose transactions are explicit statements
    (``BEGIN``, ``COMMIT``, ``ROLLBACK``), taking SQLite-dialect SQL with ``?`` parameters."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> SqlCursor:
        """Run one statement."""

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> SqlCursor:
        """Run one statement once per parameter row."""

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""

    def close(self) -> None:
        """Close the connection."""
