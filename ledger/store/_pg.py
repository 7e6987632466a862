"""The PostgreSQL edge of the log (ADR 0010): a connection adapter that speaks the store's SQL.

The store and the state tables are written once, in SQLite's dialect; ``PgConnection`` runs
that SQL on PostgreSQL through psycopg 3 with a small, fixed translation (cached per
statement): ``?`` placeholders, ``INSERT OR REPLACE`` / ``INSERT OR IGNORE`` as ``ON
CONFLICT``, and in DDL ``BLOB`` as ``BYTEA``, ``INTEGER`` as ``BIGINT`` (SQLite's integers are
64-bit), ``TEXT`` with the byte-order ``"C"`` collation (so every ``ORDER BY`` walks keys as
SQLite does) and no ``WITHOUT ROWID``. What is not a translation lives here as the backend's
own: the ledger's tables and append-only triggers, the write lock (a row lock on ``head``),
the stored hash rows (read through libpq with statements of the adapter's own), and
``json_group_array`` (an aggregate the state's grant view selects).

A ledger is the set of tables in one schema: the first schema of the connection's
``search_path`` (a URL's ``options=-csearch_path=NAME`` picks it), so one database can hold
several ledgers.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from keys.errors import ConflictError, MalformedError

from ..tlog import EMPTY_ROOT

if TYPE_CHECKING:  # psycopg is imported when a URL is opened: a file ledger never loads it
    import psycopg

__all__ = ["PgConnection", "connect_pg", "is_url", "redacted", "shown"]

_SCHEMES = ("postgresql://", "postgres://")

_LEDGER_DDL = (
    'CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT COLLATE "C")',
    "CREATE TABLE records (idx BIGINT PRIMARY KEY, data BYTEA NOT NULL)",
    "CREATE TABLE tree (idx BIGINT PRIMARY KEY, hashes BYTEA NOT NULL)",
    "CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, root BYTEA NOT NULL, note BYTEA NOT NULL)",
    "CREATE TABLE head (id BIGINT PRIMARY KEY, size BIGINT NOT NULL, root BYTEA NOT NULL, "
    "note BYTEA)",
    # seq: the order lines were first stored in (SQLite's rowid, which an upsert keeps)
    'CREATE TABLE cosignatures (seq BIGSERIAL, size BIGINT NOT NULL, signer TEXT COLLATE "C" '
    'NOT NULL, line TEXT COLLATE "C" NOT NULL, UNIQUE (size, signer))',
    "CREATE FUNCTION lic_refuse() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$",
    "CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON records "
    "FOR EACH STATEMENT EXECUTE FUNCTION lic_refuse('records are append-only')",
    "CREATE TRIGGER tree_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON tree "
    "FOR EACH STATEMENT EXECUTE FUNCTION lic_refuse('the tree is append-only')",
    "CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON checkpoints "
    "FOR EACH STATEMENT EXECUTE FUNCTION lic_refuse('checkpoints are append-only')",
    "CREATE TRIGGER head_forward_only BEFORE UPDATE ON head FOR EACH ROW "
    "WHEN (NEW.size < OLD.size) EXECUTE FUNCTION lic_refuse('checkpoint cannot go back')",
    "CREATE TRIGGER head_no_delete BEFORE DELETE OR TRUNCATE ON head "
    "FOR EACH STATEMENT EXECUTE FUNCTION lic_refuse('checkpoint cannot be deleted')",
    # SQLite's json_group_array over integers, as the state's grant view selects it
    "CREATE FUNCTION lic_json_array(bigint[]) RETURNS text LANGUAGE sql IMMUTABLE AS "
    "$$ SELECT array_to_json($1)::text $$",
    "CREATE AGGREGATE json_group_array(bigint) (SFUNC = array_append, STYPE = bigint[], "
    "FINALFUNC = lic_json_array, INITCOND = '{}')",
)

# Every object of a ledger, dropped when a create or an import fails part way
_LEDGER_OBJECTS = ("meta", "records", "tree", "checkpoints", "head", "cosignatures")


_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE (libpq's PQTRANS_IDLE)
_COMMAND_OK = 1  # psycopg.pq.ExecStatus.COMMAND_OK (libpq's PGRES_COMMAND_OK)
_TUPLES_OK = 2  # psycopg.pq.ExecStatus.TUPLES_OK (libpq's PGRES_TUPLES_OK)
_NO_SUCH_STATEMENT = "26000"  # invalid_sql_statement_name: the statement was deallocated
_STATEMENT_EXISTS = "42P05"  # duplicate_prepared_statement
# read_rows's statements, one per number of rows k, prepared on first use per connection under
# names psycopg's own (_pg3_N) never take. ``idx IN ($1, ..., $k)``, not ``= ANY($1)``: with
# k parameters the server soon settles on the generic plan (no planning per call), which it
# never does for an array parameter of unknown length (it estimates ten elements).
_ROWS_MAX = 64
_ROWS_STMTS = [b"lic_read_rows_%d" % k for k in range(_ROWS_MAX + 1)]


def _sqlstate(res: Any) -> str:
    from psycopg.pq import DiagnosticField

    state: bytes | None = res.error_field(DiagnosticField.SQLSTATE)
    return (state or b"").decode("ascii", "replace")


def _rows_sql(k: int) -> bytes:
    params = ", ".join(f"${i}::bigint" for i in range(1, k + 1))
    return f"SELECT idx, hashes FROM tree WHERE idx IN ({params})".encode()  # noqa: S608


_be_int = functools.partial(int.from_bytes, byteorder="big", signed=True)  # a binary bigint


def is_url(location: object) -> bool:
    """Whether a ledger location is a PostgreSQL URL (else it is a file path)."""
    return isinstance(location, str) and location.startswith(_SCHEMES)


_REPLACE = re.compile(r"^INSERT OR REPLACE INTO (\w+) \(([^)]*)\) VALUES (\(.*\))$", re.S)
_IGNORE = re.compile(r"^INSERT OR IGNORE INTO ", re.S)
_DDL_WORDS = (
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
    (re.compile(r"\s*WITHOUT ROWID"), ""),
)


def translate(sql: str) -> str:
    """The store's SQLite statement as PostgreSQL runs it (see the module's docstring)."""
    s = sql.strip()
    if s.startswith("CREATE"):
        for pattern, repl in _DDL_WORDS:
            s = pattern.sub(repl, s)
    m = _REPLACE.match(s)
    if m:
        cols = [c.strip() for c in m.group(2).split(",")]
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols[1:])
        # the statement's own names, moved: the store's constants, never outside input
        s = f"INSERT INTO {m.group(1)} ({m.group(2)}) VALUES {m.group(3)} "  # noqa: S608
        s += f"ON CONFLICT ({cols[0]}) "
        s += f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    elif _IGNORE.match(s):
        s = "INSERT INTO " + s[len("INSERT OR IGNORE INTO ") :] + " ON CONFLICT DO NOTHING"
    return s.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A psycopg connection in autocommit mode (transactions are explicit, as on SQLite) that
    takes the store's SQL: ``execute``, ``executemany``, ``in_transaction`` and ``close`` as
    ``sqlite3.Connection`` has them, plus the few operations each backend does its own way."""

    def __init__(self, conn: psycopg.Connection[Any], url: str) -> None:
        self.raw = conn
        self.url = url
        self._sql: dict[str, str] = {}
        self._pipe: Any = None  # psycopg's Pipeline while a write transaction is open
        self._pipe_cm: Any = None  # the context that entered it
        self._rows_cur: Any = None  # read_rows's own cursor, inside a transaction
        self._rows_prepared: set[int] = set()  # read_rows's statements prepared, by arity

    def _t(self, sql: str) -> str:
        t = self._sql.get(sql)
        if t is None:
            t = self._sql[sql] = translate(sql)
        return t

    # The cursors are psycopg's, typed Any: the store uses them as it uses sqlite3's
    # (fetchone, fetchall, rowcount), and their rows are tuples as SQLite's are.
    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Any:
        """Run one statement (SQLite dialect) and return its cursor. Inside a write
        transaction the statement is pipelined: sent without waiting for its result, which
        is read (after a sync) only when the caller asks for a row or a row count."""
        pipe = self._pipe
        if pipe is None:
            return self.raw.execute(self._t(sql), params)
        if sql in ("COMMIT", "ROLLBACK"):
            return self._end(sql)
        return _Pipelined(self.raw.execute(self._t(sql), params), pipe)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any:
        """Run one statement for each parameter row (pipelined: one round trip)."""
        cur = self.raw.cursor()
        cur.executemany(self._t(sql), params)
        return cur

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (as ``sqlite3.Connection.in_transaction``)."""
        return self.raw.info.transaction_status != _IDLE

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        self.raw.close()

    # -- the backend's own operations ------------------------------------------------------
    def begin_write(self) -> None:
        """Begin a READ COMMITTED transaction and lock the ledger's ``head`` row: writers
        queue on it, and each statement after the lock sees every earlier writer's commit,
        so the next index read under it is never lost or duplicated. A lock not granted
        within the wait is a ConflictError (retry)."""
        from psycopg.errors import LockNotAvailable

        self.raw.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            self.raw.execute("SELECT 1 FROM head WHERE id = 0 FOR UPDATE")
        except LockNotAvailable as e:
            self.raw.execute("ROLLBACK")
            raise ConflictError(
                "busy: another writer held the ledger's head row past the wait; try again"
            ) from e
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self._pipe_cm = self.raw.pipeline()
        self._pipe = self._pipe_cm.__enter__()

    def _end(self, sql: str) -> None:
        """COMMIT or ROLLBACK a pipelined write transaction and leave pipeline mode. An error
        of any statement still in the pipeline is raised here on COMMIT (the store then
        rolls back); on ROLLBACK it is moot: the transaction is undone either way."""
        pipe, self._pipe, self._pipe_cm = self._pipe_cm, None, None
        if sql == "COMMIT":
            self.raw.execute("COMMIT")
            pipe.__exit__(None, None, None)
            return
        with contextlib.suppress(Exception):  # an aborted pipeline: the rollback ends it
            pipe.__exit__(None, None, None)
        if self.in_transaction:
            self.raw.execute("ROLLBACK")

    def read_rows(self, idxs: Sequence[int]) -> list[tuple[int, bytes]]:
        """The stored ``tree`` rows of these indexes, in one indexed query. Outside a
        transaction (a proof, a root), through libpq itself: a statement per number of rows,
        prepared once per connection, the rows back in binary, at a fraction of a cursor's
        per-statement work, which dominated a proof. Inside a transaction, through a cursor."""
        k = len(idxs)
        pgconn = self.raw.pgconn
        if self._pipe is not None or not 0 < k <= _ROWS_MAX or pgconn.transaction_status:
            return self._read_rows_cursor(idxs)
        name = _ROWS_STMTS[k]
        args = [b"%d" % i for i in idxs]
        with self.raw.lock:
            if k not in self._rows_prepared:
                self._prepare_rows(k)
            res = pgconn.exec_prepared(name, args, None, 1)
            if res.status != _TUPLES_OK and _sqlstate(res) == _NO_SUCH_STATEMENT:
                # psycopg deallocates every prepared statement of the session after a
                # ROLLBACK, a DROP or an ALTER: prepare ours again (no transaction was open,
                # so the failed call aborted nothing)
                self._rows_prepared.clear()
                self._prepare_rows(k)
                res = pgconn.exec_prepared(name, args, None, 1)
        get = self._check(res, _TUPLES_OK).get_value
        return [(_be_int(get(j, 0)), get(j, 1)) for j in range(res.ntuples)]

    def _prepare_rows(self, k: int) -> None:
        """Prepare read_rows's statement for ``k`` rows (one the session still has counts)."""
        res = self.raw.pgconn.prepare(_ROWS_STMTS[k], _rows_sql(k))
        if res.status != _COMMAND_OK and _sqlstate(res) != _STATEMENT_EXISTS:
            self._check(res, _COMMAND_OK)
        self._rows_prepared.add(k)

    def _read_rows_cursor(self, idxs: Sequence[int]) -> list[tuple[int, bytes]]:
        cur = self._rows_cur
        if cur is None:  # one cursor, binary both ways (no hex text), the statement prepared
            cur = self._rows_cur = self.raw.cursor(binary=True)
        rows: list[tuple[int, bytes]] = cur.execute(
            "SELECT idx, hashes FROM tree WHERE idx = ANY(%b)", (list(idxs),), prepare=True
        ).fetchall()
        return rows

    def _check(self, res: Any, ok: int) -> Any:
        """A libpq result, or its error raised as psycopg raises it."""
        if res.status != ok:
            from psycopg.errors import error_from_result

            raise error_from_result(res, encoding=self.raw.info.encoding)
        return res

    def has_table(self, name: str) -> bool:
        """Whether the ledger's schema (the first of the search path) has table ``name``."""
        row = self.raw.execute(
            "SELECT to_regclass(format('%%I.%%I', current_schema(), %s::text)) IS NOT NULL",
            (name,),
        ).fetchone()
        return bool(row is not None and row[0])

    def create_ledger(self, rows: Sequence[tuple[str, str]]) -> None:
        """Inside the caller's transaction: the ledger's tables, triggers and metadata
        (``rows``: key, value) and the empty head, in the first schema of the search path.
        A schema that already holds a ledger is refused."""
        schema = self.raw.execute("SELECT current_schema()").fetchone()
        if schema is None or schema[0] is None:
            raise MalformedError("ledger: the URL's search_path names no existing schema")
        # one creator per schema at a time; the check below then sees any earlier one
        self.raw.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
        if self.has_table("meta"):
            raise MalformedError(f"ledger: schema {schema[0]} already holds a ledger")
        for ddl in _LEDGER_DDL:
            self.raw.execute(ddl)
        cur = self.raw.cursor()
        cur.executemany("INSERT INTO meta (key, value) VALUES (%s, %s)", rows)
        self.raw.execute(
            "INSERT INTO head (id, size, root, note) VALUES (0, 0, %s, NULL)", (EMPTY_ROOT,)
        )

    def drop_ledger(self, state_tables: Sequence[str]) -> None:
        """Drop every table of the ledger (a failed import leaves nothing behind)."""
        if self.in_transaction:
            self.raw.execute("ROLLBACK")
        with self.raw.transaction():
            for name in (*_LEDGER_OBJECTS, *state_tables):
                self.raw.execute(f"DROP TABLE IF EXISTS {name} CASCADE")
            self.raw.execute("DROP AGGREGATE IF EXISTS json_group_array(bigint)")
            self.raw.execute("DROP FUNCTION IF EXISTS lic_json_array(bigint[])")
            self.raw.execute("DROP FUNCTION IF EXISTS lic_refuse() CASCADE")


class _Pipelined:
    """A pipelined statement's cursor: reading its rows syncs the pipeline (psycopg does),
    and so does reading its row count (done here)."""

    __slots__ = ("_cur", "_pipe")

    def __init__(self, cur: Any, pipe: Any) -> None:
        self._cur = cur
        self._pipe = pipe

    def __getattr__(self, name: str) -> Any:  # fetchone, fetchmany, fetchall, iteration
        return getattr(self._cur, name)

    def __iter__(self) -> Any:
        return iter(self._cur)

    @property
    def rowcount(self) -> int:
        self._pipe.sync()
        n: int = self._cur.rowcount
        return n


def connect_pg(url: str, lock_timeout_ms: int) -> PgConnection:
    """A connection to the ledger database at ``url``: autocommit, synchronous commits (a
    commit is durable on the server before it returns), and a wait of ``lock_timeout_ms``
    for another writer's lock (the store passes ``BUSY_TIMEOUT_MS``)."""
    import psycopg

    try:
        raw = psycopg.connect(url, autocommit=True)
    except psycopg.Error as e:
        raise MalformedError(f"ledger: cannot connect to {redacted(url)}: {e}") from e
    try:
        raw.execute("SET synchronous_commit = on")
        raw.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
    except BaseException:
        raw.close()
        raise
    return PgConnection(raw, url)


def shown(location: object) -> str:
    """A ledger location for messages (a URL without its password)."""
    s = str(location)
    return redacted(s) if is_url(s) else s


def redacted(url: str) -> str:
    """A URL without its password, for messages."""
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)
