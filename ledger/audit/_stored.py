"""The audit's check of the derived state a ledger file stores (ADR 0008, SPEC 14): the replay
recomputes it into the same tables, and every stored table must hold exactly those rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from keys.errors import MalformedError

from ..state import SCHEMA_VERSION, STATE_TABLES, Finding, LedgerState, has_state_tables
from ..store import Ledger, is_ledger_url

if TYPE_CHECKING:
    import sqlite3

__all__ = ["compare_stored_state"]

# st_meta's last three columns keep the revoked set's root while the set is unchanged: a cache,
# checked against the recomputed commitment instead of row by row
_META = "id, schema, size, last_time, revset_version"
_COPY_PAGE = 4096  # rows per query when copying a PostgreSQL ledger's tables


def compare_stored_state(state: LedgerState, path: Path | str) -> tuple[str, list[Finding]]:
    """Compare the tables of the ledger file at ``path`` with ``state`` (the replay's own, of
    the same records). Returns what was found (``equal``, ``differs``, ``absent``: a file
    made before the tables existed, or ``not compared``: the file grew during the audit, or
    its tables have another schema version) and
    one finding per table that differs, naming the first differing row in key order. Tables
    of another schema version are not compared (the file's next write rebuilds them)."""
    conn = cast("sqlite3.Connection", state.conn)  # the replay's own: a private SQLite database
    state.commit()
    if conn.in_transaction:
        conn.execute("COMMIT")
    if is_ledger_url(path):  # PostgreSQL: its tables, copied into a private database
        conn.execute("ATTACH DATABASE '' AS stored")
    else:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        conn.execute("ATTACH DATABASE ? AS stored", (uri,))
    try:
        if is_ledger_url(path):
            _copy_stored(conn, str(path))
        conn.execute("BEGIN")  # one snapshot of the stored file for every read below
        if not has_state_tables(conn, "stored"):
            return "absent", []
        row = conn.execute("SELECT schema FROM stored.st_meta WHERE id = 0").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:  # rebuilt by the file's next write
            return "not compared", []
        row = conn.execute("SELECT max(idx) FROM stored.records").fetchone()
        if (0 if row[0] is None else int(row[0]) + 1) != state.size:
            return "not compared", []
        # about the state after every record: the findings sort after the records' own
        at = state.size
        findings = [f for name, key in STATE_TABLES for f in _differs(conn, name, key, at)]
        findings += _kept_root(conn, state, at)
        return ("differs" if findings else "equal"), findings
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")
        conn.execute("DETACH DATABASE stored")
        conn.execute("BEGIN")


def _copy_stored(conn: Any, url: str) -> None:
    """The state tables of the PostgreSQL ledger at ``url`` (one snapshot) into the attached
    database ``stored``, with a ``records`` table holding its last index: what the comparison
    below reads of a ledger file."""
    with Ledger.open(url) as led:
        src = led.connection
        src.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            try:
                led.stored_state()
            except MalformedError:  # no state tables, or of another schema version
                _copy_version(conn, src)
                return
            last = src.execute("SELECT max(idx) FROM records").fetchone()[0]
            conn.execute("BEGIN")
            conn.execute("CREATE TABLE stored.records (idx INTEGER)")
            conn.execute("INSERT INTO stored.records VALUES (?)", (last,))
            for name, key in STATE_TABLES:
                # same columns as the replay's table (the names are ledger.state's constants)
                conn.execute(f"CREATE TABLE stored.{name} AS SELECT * FROM main.{name} WHERE 0")  # noqa: S608
                for rows in _pages(src, name, key):
                    marks = ", ".join("?" * len(rows[0]))
                    conn.executemany(f"INSERT INTO stored.{name} VALUES ({marks})", rows)  # noqa: S608
            conn.execute("COMMIT")
        finally:
            src.execute("COMMIT")


def _copy_version(conn: Any, src: Any) -> None:
    """The schema version of the ledger's state tables when it has some, as a ``stored.st_meta``
    of that one column: the comparison then says what a file's tables of another version
    give (not compared), and a ledger without them stays absent."""
    found = src.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name = 'st_meta'"
    ).fetchone()
    if not found[0]:
        return
    row = src.execute("SELECT schema FROM st_meta WHERE id = 0").fetchone()
    conn.execute("CREATE TABLE stored.st_meta (id INTEGER, schema INTEGER)")
    if row is not None:
        conn.execute("INSERT INTO stored.st_meta VALUES (0, ?)", (row[0],))


def _pages(src: Any, name: str, key: str) -> Iterator[list[tuple[Any, ...]]]:
    """A table's rows (all columns, in the table's order) by ascending key, a page at a time:
    memory flat in the table's size. Each query selects the key columns first to page on."""
    n = len(key.split(","))
    marks = ", ".join("?" * n)
    first = f"SELECT {key}, * FROM {name} ORDER BY {key} LIMIT {_COPY_PAGE}"  # noqa: S608
    after = (
        f"SELECT {key}, * FROM {name} WHERE ({key}) > ({marks}) "  # noqa: S608
        f"ORDER BY {key} LIMIT {_COPY_PAGE}"
    )
    rows = src.execute(first).fetchall()
    while rows:
        yield [tuple(r[n:]) for r in rows]
        if len(rows) < _COPY_PAGE:
            return
        rows = src.execute(after, tuple(rows[-1][:n])).fetchall()


def _differs(conn: Any, name: str, key: str, at: int) -> list[Finding]:
    cols = _META if name == "st_meta" else f"{key}, *"  # the key first, then every column
    # table, key and column names are ledger.state's constants, never outside input
    if _same(conn, name, cols):
        return []
    first: tuple[Any, ...] | None = None
    for a, b, side in (("stored", "main", "stored"), ("main", "stored", "replayed")):
        row = conn.execute(
            f"SELECT {cols} FROM {a}.{name} EXCEPT SELECT {cols} FROM {b}.{name} "  # noqa: S608
            f"ORDER BY {key} LIMIT 1"
        ).fetchone()
        if row is not None and (first is None or _key(row, key) < _key(first[0], key)):
            first = (row, side)
    if first is None:
        return []
    row, side = first
    what = "only in the stored table" if side == "stored" else "missing from the stored table"
    other = conn.execute(
        f"SELECT {cols} FROM {'main' if side == 'stored' else 'stored'}.{name} "  # noqa: S608
        f"WHERE ({key}) = ({', '.join('?' * len(key.split(',')))})",
        _key(row, key),
    ).fetchone()
    if other is not None:
        what = f"stored {_text(row if side == 'stored' else other)}, replay gives " + _text(
            other if side == "stored" else row
        )
    return [
        Finding(
            at,
            f"stored state: table {name} differs from the replay at {key} = "
            f"{_text(_key(row, key))}: {what}",
        )
    ]


def _same(conn: Any, name: str, cols: str) -> bool:
    """Whether the stored table holds exactly the replay's rows, with one set difference
    instead of two: the replay's rows are distinct (their keys are), so as many stored rows
    (duplicates counted) that include every one of them are those rows and nothing else.
    The stored rows are counted in the table itself (NOT INDEXED), the b-tree the difference
    reads, never in an index of the file that could hold other rows."""
    counts = conn.execute(
        f"SELECT (SELECT count(*) FROM stored.{name} NOT INDEXED), "  # noqa: S608
        f"(SELECT count(*) FROM main.{name})"
    ).fetchone()
    if counts[0] != counts[1]:
        return False
    extra = conn.execute(
        f"SELECT 1 FROM (SELECT {cols} FROM main.{name} "  # noqa: S608
        f"EXCEPT SELECT {cols} FROM stored.{name}) LIMIT 1"
    ).fetchone()
    return extra is None


def _key(row: tuple[Any, ...], key: str) -> tuple[Any, ...]:
    return tuple(row[: len(key.split(","))])


def _text(values: tuple[Any, ...]) -> str:
    parts = [v.hex()[:16] + "..." if isinstance(v, bytes) and len(v) > 8 else repr(v)
             for v in values]  # fmt: skip
    return "(" + ", ".join(parts) + ")"


def _kept_root(conn: Any, state: LedgerState, at: int) -> list[Finding]:
    """The revoked-set root the file keeps for its current set must be the recomputed one."""
    row = conn.execute(
        "SELECT revset_cached, revset_version, revset_size, revset_root FROM stored.st_meta"
    ).fetchone()
    if row is None or row[0] is None or row[0] != row[1]:
        return []
    n, root = state.revset_commitment()
    if (row[2], bytes(row[3])) == (n, root):
        return []
    return [
        Finding(
            at,
            f"stored state: the kept revoked-set root ({row[2]} member(s), "
            f"{bytes(row[3]).hex()[:16]}...) differs from the replay's ({n}, {root.hex()[:16]}...)",
        )
    ]
