"""The derived state stored beside the records (ADR 0008): built once for a ledger file made
before the state tables existed (a replay, in one write transaction), rebuilt on demand, and
kept up to date in each append's write transaction."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable

from ..state import (
    SCHEMA_VERSION,
    LedgerState,
    create_state_tables,
    drop_state_tables,
    replay_into,
    upgrade_state_tables,
)
from ._conn import Conn, begin_write, has_table
from ._pg import PgConnection

__all__ = ["apply_new", "build_state", "has_stored_state", "state_ready"]

# PostgreSQL connections that found the state tables: a write asks several times, and each
# question is two round trips to the server (a SQLite file answers in-process: not kept)
_READY: weakref.WeakSet[PgConnection] = weakref.WeakSet()


def has_stored_state(conn: Conn) -> bool:
    """Whether the ledger file has the state tables, of this version of their schema."""
    return _stored_schema(conn) == SCHEMA_VERSION


def _stored_schema(conn: Conn) -> int | None:
    """The schema version of the file's state tables; None without them."""
    if not has_table(conn, "st_meta"):
        return None
    row = conn.execute("SELECT schema FROM st_meta WHERE id = 0").fetchone()
    return None if row is None else int(row[0])


def state_ready(conn: Conn) -> bool:
    """``has_stored_state``, remembered for a PostgreSQL connection once true: the tables
    never go away afterwards (a rebuild replaces them inside one transaction, so no
    connection ever finds them absent or of another schema once they were there)."""
    if not isinstance(conn, PgConnection):
        return has_stored_state(conn)
    if conn in _READY:
        return True
    ready = has_stored_state(conn)
    if ready:
        _READY.add(conn)
    return ready


def apply_new(state: LedgerState, rows: Iterable[tuple[int, bytes]]) -> None:
    """Apply the records the stored state does not cover yet, in order (``replay_into``)."""
    replay_into(state, rows)


def build_state(
    conn: Conn,
    log_key: bytes,
    records: Callable[[int], Iterable[tuple[int, bytes]]],
    *,
    rebuild: bool,
    progress: Callable[[int], None] | None = None,
) -> bool:
    """Create the state tables and fill them by a replay of ``records(end)`` (the first
    ``end`` records), in one write transaction: a crash leaves the file as it was. Without
    ``rebuild``, only when the file has no tables of this schema version yet (returns whether
    it built them), and tables of an older schema that ``upgrade_state_tables`` brings up to
    date in place are not replayed; the tables are dropped first. ``progress``: see
    ``replay_into``."""
    begin_write(conn)
    try:
        if not rebuild:
            version = _stored_schema(conn)
            if version == SCHEMA_VERSION:
                conn.execute("ROLLBACK")
                return False
            if version is not None and upgrade_state_tables(conn, version):
                conn.execute("COMMIT")
                return True
        # the state module's SQL runs on PostgreSQL through PgConnection (ADR 0010)
        drop_state_tables(conn)
        create_state_tables(conn)
        state = LedgerState(log_key, conn)
        row = conn.execute("SELECT max(idx) FROM records").fetchone()
        end = 0 if row[0] is None else int(row[0]) + 1
        replay_into(state, records(end), progress)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True
