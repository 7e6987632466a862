"""What the service needs to know of the two storage backends (ADR 0010): where a ledger
lives (a file path, or a ``postgresql://`` URL kept as the string it is: a ``Path`` would fold
its ``//``), and which exceptions mean "the store cannot be read or written right now" (a 503
and a retry, never a traceback)."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from ..store import is_ledger_url

__all__ = ["Location", "location_of", "storage_errors"]

Location = str | Path


def location_of(db: str | os.PathLike[str]) -> Location:
    """A ledger location as the store takes it: a URL as a string, anything else a path."""
    return str(db) if is_ledger_url(db) else Path(db)


def storage_errors() -> tuple[type[BaseException], ...]:
    """The exceptions of the storage drivers: SQLite's, and psycopg's once a URL was opened
    (until then no psycopg error can be raised, and psycopg is not imported for a file)."""
    pg = sys.modules.get("psycopg")
    if pg is None:
        return (sqlite3.Error,)
    return (sqlite3.Error, pg.Error)
