"""The ledger file's tables (SPEC 6), created with sqlite-utils and made append-only by
triggers, and the statements over them that are more than one line."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import sqlite_utils

from keys.errors import MalformedError

from ..tlog import EMPTY_ROOT, MAX_SIGNATURES, Ed25519NoteVerifier, parse_note
from ._conn import Conn, begin_write

__all__ = [
    "COSIGNATURES_TABLE",
    "STORE_FORMAT",
    "create_schema",
    "rows_query",
    "store_cosignatures",
]

STORE_FORMAT = "lic-ledger-sqlite/v1"

COSIGNATURES_TABLE = (
    "CREATE TABLE IF NOT EXISTS cosignatures (size INTEGER NOT NULL, signer TEXT NOT NULL, "
    "line TEXT NOT NULL, UNIQUE (size, signer))"
)

_SCHEMA_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS records_append_only_u BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_append_only_d BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tree_append_only_u BEFORE UPDATE ON tree
BEGIN SELECT RAISE(ABORT, 'the tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS tree_append_only_d BEFORE DELETE ON tree
BEGIN SELECT RAISE(ABORT, 'the tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_append_only_u BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_append_only_d BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS head_forward_only BEFORE UPDATE ON head
WHEN NEW.size < OLD.size BEGIN SELECT RAISE(ABORT, 'checkpoint cannot go back'); END;
CREATE TRIGGER IF NOT EXISTS head_no_delete BEFORE DELETE ON head
BEGIN SELECT RAISE(ABORT, 'checkpoint cannot be deleted'); END;
"""


def create_schema(
    conn: sqlite3.Connection, origin: str, log_vkey: str, log_key_name: str | None
) -> None:
    """Create the tables, triggers, metadata and the empty head of a new ledger, inside the
    caller's write transaction."""
    db = sqlite_utils.Database(conn)
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("records").create({"idx": int, "data": bytes}, pk="idx", not_null={"data"})
    # Row n: the leaf hash of record n and the hashes of the subtrees it completes. A
    # table of its own keeps it dense (~50 rows per page): proofs read only these.
    db.table("tree").create({"idx": int, "hashes": bytes}, pk="idx", not_null={"hashes"})
    db.table("checkpoints").create(
        {"size": int, "root": bytes, "note": bytes},
        pk="size",
        not_null={"root", "note"},
    )
    db.table("head").create(
        {"id": int, "size": int, "root": bytes, "note": bytes},
        pk="id",
        not_null={"size", "root"},
    )
    for stmt in _SCHEMA_TRIGGERS.split(";\n"):
        if stmt.strip():
            conn.execute(stmt)
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [
            ("format", STORE_FORMAT),
            ("origin", origin),
            ("log_vkey", log_vkey),
            *([("log_key_name", log_key_name)] if log_key_name else []),
        ],
    )
    conn.execute("INSERT INTO head (id, size, root, note) VALUES (0, 0, ?, NULL)", (EMPTY_ROOT,))


def store_cosignatures(
    conn: Conn, size: int, lines: Sequence[str], log: Ed25519NoteVerifier
) -> int:
    """``Ledger.add_cosignatures`` in one write transaction on ``conn``: returns how many lines
    were added or replaced."""
    sigs = [parse_note(b"x\n\n" + line.encode("utf-8")).signatures for line in lines]
    if any(len(s) != 1 for s in sigs):
        raise MalformedError("cosignatures: one signature line each")
    own = (log.name, log.key_hash)
    if any((s[0].name, s[0].key_hash) == own for s in sigs):
        raise MalformedError("cosignatures: the log's own signature is not a cosignature")
    begin_write(conn)
    try:
        conn.execute(COSIGNATURES_TABLE)
        row = conn.execute("SELECT note FROM checkpoints WHERE size = ?", (size,)).fetchone()
        if row is None:
            raise MalformedError(f"cosignatures: no checkpoint at size {size}")
        changed = 0
        for s in sigs:
            sig = s[0]
            cur = conn.execute(
                "INSERT INTO cosignatures (size, signer, line) VALUES (?, ?, ?) "
                "ON CONFLICT (size, signer) DO UPDATE SET line = excluded.line "
                "WHERE cosignatures.line != excluded.line",
                (size, f"{sig.name} {sig.key_hash.hex()}", sig.line()),
            )
            changed += cur.rowcount
        total = len(parse_note(bytes(row[0])).signatures)
        total += conn.execute(
            "SELECT count(*) FROM cosignatures WHERE size = ?", (size,)
        ).fetchone()[0]
        if total > MAX_SIGNATURES:
            raise MalformedError("cosignatures: a note holds at most 100 signatures")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return changed


_ROWS_QUERIES: dict[int, str] = {}


def rows_query(k: int) -> str:
    """SELECT of ``k`` rows of ``tree`` by index, as a join with a VALUES list: SQLite runs it
    as k rowid lookups, where ``idx IN (...)`` first builds and sorts an ephemeral index, work a
    proof's handful of rows does not need."""
    q = _ROWS_QUERIES.get(k)
    if q is None:
        values = ",".join(["(?)"] * k)
        q = (
            f"SELECT t.idx, t.hashes FROM (VALUES {values}) AS v "  # noqa: S608
            "CROSS JOIN tree AS t ON t.idx = v.column1"
        )
        if len(_ROWS_QUERIES) < 512:
            _ROWS_QUERIES[k] = q
    return q
