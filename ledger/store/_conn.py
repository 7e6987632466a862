"""SQLite connection helpers shared by every store here (the log and the witness state):
open a connection, make it durable, take the write lock; and the seam to the PostgreSQL
backend (``_pg``): ``Conn`` is either connection, and the few operations each backend does its
own way (the write lock, reading hash rows, asking for a table) dispatch on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TypeAlias

from keys.errors import ConflictError, MalformedError

from ._pg import PgConnection

Conn: TypeAlias = sqlite3.Connection | PgConnection

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MMAP_BYTES",
    "PAGE_CACHE_KIB",
    "begin_write",
    "connect",
    "durable",
]


BUSY_TIMEOUT_MS = 120_000
PAGE_CACHE_KIB = 64 * 1024  # SQLite page cache per ledger connection (proof reads hit leaf pages)
# Reads through a read-only memory map of the file: a proof's tree pages come from the OS page
# cache without a pread and a copy each. Writes still go through the WAL with pwrite; the file
# is never truncated (append-only, no VACUUM), which is what makes a mapped read safe.
MMAP_BYTES = 1 << 40


def connect(
    path: Path,
    *,
    busy_timeout_ms: int | None = None,
    page_cache_kib: int = 0,
    mmap_bytes: int = 0,
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) that waits up to
    ``busy_timeout_ms`` (default ``BUSY_TIMEOUT_MS``, read at each call) for another writer's
    lock; a page cache and a memory map when given."""
    if busy_timeout_ms is None:
        busy_timeout_ms = BUSY_TIMEOUT_MS
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=busy_timeout_ms / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        if page_cache_kib:
            conn.execute(f"PRAGMA cache_size = -{page_cache_kib}")
        if mmap_bytes:
            conn.execute(f"PRAGMA mmap_size = {mmap_bytes}")
    except BaseException:
        conn.close()
        raise
    return conn


def durable(conn: sqlite3.Connection, path: Path, what: str) -> None:
    """WAL with a full fsync at every commit (set only once the file is known to be ours);
    ``what`` names the store in the error."""
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise MalformedError(f"{what}: cannot use WAL mode on {path}")
    conn.execute("PRAGMA synchronous = FULL")


def begin_write(conn: Conn) -> None:
    """``BEGIN IMMEDIATE``: take the file's write lock, waiting up to the busy timeout. A lock
    another writer holds longer than that is a ConflictError (retry), not SQLite's error.
    On PostgreSQL: ``PgConnection.begin_write`` (a row lock on the ledger's head)."""
    if isinstance(conn, PgConnection):
        conn.begin_write()
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            raise
        raise ConflictError(
            "busy: another writer held the file's write lock past the wait; try again"
        ) from e


def has_table(conn: Conn, name: str) -> bool:
    """Whether the ledger's database (SQLite's main, PostgreSQL's schema) has table ``name``."""
    if isinstance(conn, PgConnection):
        return conn.has_table(name)
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None
