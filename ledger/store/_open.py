"""Where a ledger lives: a new or existing SQLite file, or a PostgreSQL schema named by a
``postgresql://`` URL. Gives ``Ledger`` a connection with the tables in place; ``Ledger`` reads
the metadata and does the rest the same way on both."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from keys import PublicKey
from keys.errors import MalformedError

from ..state import LedgerState, create_state_tables
from . import _conn  # BUSY_TIMEOUT_MS read at each call
from ._conn import MMAP_BYTES, PAGE_CACHE_KIB, Conn, begin_write, connect, durable
from ._pg import connect_pg, is_url
from ._schema import STORE_FORMAT, create_schema

__all__ = ["create_store", "open_store"]


def create_store(
    path: str | os.PathLike[str], origin: str, pub: PublicKey, key_name: str | None
) -> tuple[Conn, str | Path]:
    """A new ledger's connection and location: its tables, metadata, empty head and state
    tables committed. A file that exists, or a schema that holds a ledger, is refused."""
    if is_url(path):
        return _create_pg(str(path), origin, pub, key_name), str(path)
    p = Path(path)
    try:  # reserve the name atomically: never clean up a file someone else created
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        raise MalformedError(f"ledger: {p} already exists") from None
    try:
        conn = connect(p, page_cache_kib=PAGE_CACHE_KIB, mmap_bytes=MMAP_BYTES)
        durable(conn, p, "ledger")
        begin_write(conn)
        create_schema(conn, origin, pub.verifier_key(origin), key_name)
        create_state_tables(conn)
        LedgerState(pub.raw, conn)  # the state's meta row and the log's own key
        conn.execute("COMMIT")
    except BaseException:
        if "conn" in locals():
            conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(p) + suffix).unlink(missing_ok=True)
        raise
    return conn, p


def _create_pg(url: str, origin: str, pub: PublicKey, key_name: str | None) -> Conn:
    conn = connect_pg(url, _conn.BUSY_TIMEOUT_MS)
    try:
        conn.raw.execute("BEGIN")
        conn.create_ledger(
            [
                ("format", STORE_FORMAT),
                ("origin", origin),
                ("log_vkey", pub.verifier_key(origin)),
                *([("log_key_name", key_name)] if key_name else []),
            ]
        )
        # the state module's SQL runs on PostgreSQL through PgConnection (ADR 0010)
        create_state_tables(conn)
        LedgerState(pub.raw, conn)  # the meta row, the log's key
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn


def open_store(path: str | os.PathLike[str]) -> tuple[Conn, str | Path]:
    """An existing ledger's connection and location (nothing read but that it is there)."""
    if is_url(path):
        pg = connect_pg(str(path), _conn.BUSY_TIMEOUT_MS)
        if not pg.has_table("meta"):
            pg.close()
            raise MalformedError(
                "ledger: no ledger in the URL's schema (create one with 'lic ledger init')"
            )
        return pg, str(path)
    p = Path(path)
    if not p.is_file():
        raise MalformedError(f"ledger: no ledger at {p} (create one with 'lic ledger init')")
    try:
        return connect(p, page_cache_kib=PAGE_CACHE_KIB, mmap_bytes=MMAP_BYTES), p
    except sqlite3.DatabaseError as e:
        raise MalformedError(f"ledger: {p} is not a ledger store: {e}") from e
