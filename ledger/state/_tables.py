"""The state tables (ADR 0008): their DDL, and the dict-like views ``LedgerState`` reads and
writes them through. Knows a ``sqlite3`` connection and nothing of the store.

Every table name starts with ``st_``, so the tables can sit beside the records in the ledger
file. On the ledger file every write goes to a table at once (write-through): a view's cache
holds values that are also in its table, is bounded (``CACHE_ENTRIES`` per view, emptied when
full) and is never the source of truth. A caller that mutates a value it read stores it back
(``view[k] = value``). On a private temporary database (a replay) the views may write behind
(``WriteBehind``): a bounded batch of pending rows per view, each also in the view's cache, all
written with one ``executemany`` per table and statement before any SQL reads past the caches.
"""

from __future__ import annotations

import itertools
import json
import marshal
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._revtree import REVTREE_DDL

if TYPE_CHECKING:
    import sqlite3

    from ._db import SqlConnection
    from ._revtree import TreeNodes

__all__ = [
    "CACHE_ENTRIES",
    "SCHEMA_VERSION",
    "STATE_TABLES",
    "DocTable",
    "Inserts",
    "Lookup",
    "Table",
    "WriteBehind",
    "create_state_tables",
    "drop_state_tables",
    "has_state_tables",
    "json_text",
    "open_scratch",
    "scratch_table",
    "upgrade_state_tables",
]

SCHEMA_VERSION = 3  # 2: st_revtree, the lic-revoked/v2 tree (_revtree); 3: no st_types
CACHE_ENTRIES = 16384  # values a view keeps in memory (all also in its table)
_PAGE = 512  # rows per query of a scan in key order
_SCRATCH_CACHE_KIB = 8192  # page cache of a private temporary database
WRITE_BEHIND_ROWS = 4096  # pending writes at most before a write-behind batch is flushed
_FILTER_BITS = 22  # a key filter is a fixed bitmap of 2**22 bits (512 KiB), two bits a key
_FILTER_MASK = (1 << _FILTER_BITS) - 1

K = TypeVar("K")
V = TypeVar("V")
_MISSING: Any = object()

# (table, key columns in the order a comparison walks them, DDL). The columns are the ones
# the report and the checks read; ``doc`` holds the rest of a payload (deterministic CBOR).
_DDL: tuple[tuple[str, str, str], ...] = (
    (
        "st_meta",
        "id",
        "CREATE TABLE st_meta (id INTEGER PRIMARY KEY CHECK (id = 0), schema INTEGER NOT NULL, "
        "size INTEGER NOT NULL, last_time INTEGER NOT NULL, revset_version INTEGER NOT NULL, "
        "revset_cached INTEGER, revset_size INTEGER, revset_root BLOB)",
    ),
    (
        "st_keys",
        "key",
        "CREATE TABLE st_keys (key BLOB PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, "
        "added INTEGER NOT NULL, not_before INTEGER, not_after INTEGER, retired INTEGER, "
        "compromised_since INTEGER) WITHOUT ROWID",
    ),
    (
        "st_kids",
        "kid",
        "CREATE TABLE st_kids (kid TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID",
    ),
    (
        "st_grants",
        "digest",
        # rows in record order (appends at the end of the table), found by digest through
        # its unique index: cheaper to write than rows placed by a random 32-byte key
        "CREATE TABLE st_grants (idx INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, "
        "licensee BLOB NOT NULL, tier TEXT NOT NULL, not_before INTEGER NOT NULL, "
        "not_after INTEGER NOT NULL, parent BLOB, author BLOB NOT NULL, holder BLOB NOT NULL, "
        "request INTEGER, time INTEGER NOT NULL)",
    ),
    (
        "st_withdrawals",
        "idx",
        "CREATE TABLE st_withdrawals (idx INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
        "reason TEXT NOT NULL, effective INTEGER NOT NULL, cascade INTEGER NOT NULL, "
        "until INTEGER, time INTEGER NOT NULL, lifted_by INTEGER, in_set INTEGER NOT NULL)",
    ),
    (
        "st_targets",
        "widx, pos",
        "CREATE TABLE st_targets (widx INTEGER NOT NULL, pos INTEGER NOT NULL, "
        "digest BLOB NOT NULL, PRIMARY KEY (widx, pos)) WITHOUT ROWID",
    ),
    (
        "st_revoked",
        "digest",
        "CREATE TABLE st_revoked (digest BLOB PRIMARY KEY, count INTEGER NOT NULL, "
        "leaf BLOB NOT NULL) WITHOUT ROWID",
    ),
    (
        "st_terms",
        "idx",
        "CREATE TABLE st_terms (idx INTEGER PRIMARY KEY, tid TEXT NOT NULL, "
        "version TEXT NOT NULL, effective INTEGER NOT NULL, sunset INTEGER, change TEXT, "
        "notice_days INTEGER, supersedes TEXT, published INTEGER NOT NULL, "
        "doc BLOB NOT NULL, UNIQUE (tid, version))",
    ),
    (
        "st_requests",
        "idx",
        "CREATE TABLE st_requests (idx INTEGER PRIMARY KEY, tier TEXT, region TEXT, "
        "purpose TEXT, received INTEGER NOT NULL, decision INTEGER, doc BLOB NOT NULL)",
    ),
    (
        "st_decisions",
        "idx",
        "CREATE TABLE st_decisions (idx INTEGER PRIMARY KEY, request INTEGER NOT NULL, "
        "decision TEXT NOT NULL, decided_at INTEGER, reasons TEXT, overturned_by INTEGER, "
        "doc BLOB NOT NULL)",
    ),
    (
        "st_appeals",
        "idx",
        "CREATE TABLE st_appeals (idx INTEGER PRIMARY KEY, target INTEGER NOT NULL, "
        "filed INTEGER NOT NULL, outcome TEXT, decided INTEGER, independent INTEGER, "
        "decided_index INTEGER, doc BLOB NOT NULL)",
    ),
    (
        "st_incidents",
        "idx",
        "CREATE TABLE st_incidents (idx INTEGER PRIMARY KEY, severity TEXT NOT NULL, "
        "harms TEXT NOT NULL, reported INTEGER NOT NULL, acked INTEGER, responded INTEGER, "
        "remediated INTEGER, closed INTEGER, outcome TEXT, summary TEXT, "
        "revocations TEXT NOT NULL)",
    ),
    (
        "st_attestations",
        "subject, idx",
        "CREATE TABLE st_attestations (subject BLOB NOT NULL, idx INTEGER NOT NULL, "
        "PRIMARY KEY (subject, idx)) WITHOUT ROWID",
    ),
    ("st_revtree", "depth, prefix", REVTREE_DDL),
)

_INDEXES = (
    "CREATE INDEX st_grants_parent ON st_grants (parent, idx) WHERE parent IS NOT NULL",
    "CREATE INDEX st_grants_licensee ON st_grants (licensee, idx)",
    "CREATE INDEX st_targets_digest ON st_targets (digest, widx)",
    "CREATE INDEX st_decisions_request ON st_decisions (request)",
)

# tables of older schemas: st_types (record index -> entry type) until schema 3, when the types
# a record may name were looked up in their own tables (requests, decisions, appeals,
# incidents, withdrawals): its row per record cost a replay about 5% of its instructions
_RETIRED = ("st_types",)

STATE_TABLES: tuple[tuple[str, str], ...] = tuple((name, key) for name, key, _ in _DDL)
"""Every state table and its key columns, in the order the audit compares them."""


def has_state_tables(conn: sqlite3.Connection, schema: str = "main") -> bool:
    """Whether the connection's database (``schema``: main or an attached name) has the
    state tables."""
    row = conn.execute(
        f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = 'st_meta'"  # noqa: S608
    ).fetchone()
    return row is not None


def create_state_tables(conn: SqlConnection) -> None:
    """Create the empty state tables and their indexes (inside the caller's transaction)."""
    for _, _, ddl in _DDL:
        conn.execute(ddl)
    for ddl in _INDEXES:
        conn.execute(ddl)


def drop_state_tables(conn: SqlConnection) -> None:
    """Drop every state table, and those older schemas had (inside the caller's transaction);
    the indexes go with them."""
    for name in (*(name for name, _, _ in _DDL), *_RETIRED):
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def upgrade_state_tables(conn: SqlConnection, version: int) -> bool:
    """Bring state tables of schema ``version`` to ``SCHEMA_VERSION`` in place, inside the
    caller's transaction, when the schemas between differ only by tables retired (2 to 3:
    ``st_types`` dropped, every other table the same); False when they must be rebuilt."""
    if version != 2:
        return False
    for name in _RETIRED:
        conn.execute(f"DROP TABLE IF EXISTS {name}")
    conn.execute("UPDATE st_meta SET schema = ? WHERE id = 0", (SCHEMA_VERSION,))
    return True


def open_scratch() -> sqlite3.Connection:
    """A private temporary database: SQLite creates it in its temporary directory and unlinks
    it at once (nothing is left behind when it is closed or the process dies). No journal, no
    syncs, a bounded page cache: nothing in it must survive."""
    import sqlite3  # here: an offline verifier imports this package and needs no SQLite

    bind_plainly()
    conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute(f"PRAGMA cache_size = -{_SCRATCH_CACHE_KIB}")
    conn.execute("PRAGMA temp_store = FILE")
    return conn


def bind_plainly() -> None:
    """Register identity adapters for ``bytes`` and ``None`` with the sqlite3 module (once per
    process). CPython's sqlite3 binds an int, float, str or bytearray directly but sends any
    other parameter, bytes and None included, through its adapter protocol, whose failed
    ``__adapt__`` lookup formats and discards an AttributeError each time: about 2,000 machine
    instructions per parameter, a few per state row (digests, keys, NULL columns). Found in a
    replay's profile (callgrind: one in 40 of the audit's instructions). An identity adapter
    returns the object itself: every connection of the process binds exactly what it bound
    before, through the registry's one dictionary lookup."""
    import sqlite3

    adapters = sqlite3.adapters  # the registry
    if (bytes, sqlite3.PrepareProtocol) not in adapters:
        sqlite3.register_adapter(bytes, _same)
        sqlite3.register_adapter(type(None), _same)


def _same(x: Any) -> Any:
    return x


_SQL_TYPES = {int: "INTEGER", bytes: "BLOB", str: "TEXT"}


def scratch_table(
    conn: SqlConnection,
    key_type: type,
    encode: Callable[[Any], bytes] = marshal.dumps,
    decode: Callable[[bytes], Any] = marshal.loads,
) -> Table[Any, Any]:
    """A map in a new temporary table of ``conn`` (in its temporary database, never in the
    file): keys of ``key_type`` (int, bytes or str: SQLite orders them as Python does), values
    encoded by ``encode`` (default marshal: the bytes never leave the process)."""
    name = f"scratch_{next(_SCRATCH_NAMES)}"
    sql_type = _SQL_TYPES[key_type]
    conn.execute(f"CREATE TEMP TABLE {name} (k {sql_type} PRIMARY KEY, v BLOB NOT NULL)")

    def enc(_k: Any, v: Any) -> tuple[bytes]:
        return (encode(v),)

    def dec(_k: Any, row: Any) -> Any:
        return decode(bytes(row[0]))

    return Table(conn, name, "k", ("v",), enc, dec)


_SCRATCH_NAMES = itertools.count()


class WriteBehind:
    """The pending writes of the views of one private temporary database (a replay's state,
    which nothing but its own process reads and nothing must survive): at most
    ``WRITE_BEHIND_ROWS`` of them, flushed with one ``executemany`` per table and statement
    when there are that many, when a view's cache is emptied, and before anything reads the
    database past the views' caches (``flush``; ``Lookup`` reads and scans do it themselves).
    Never used on the ledger file: there a write is part of the append's transaction."""

    def __init__(self) -> None:
        self._dirty: dict[Table[Any, Any] | Inserts | TreeNodes, None] = {}  # with pending writes
        self._count = 0

    def attach(self, *views: Table[Any, Any] | Lookup[Any] | Inserts | TreeNodes) -> None:
        """Make these views write behind (tables, inserts) or flush before they read
        (lookups)."""
        for view in views:
            view._buffer = self

    def pending(self, view: Table[Any, Any] | Inserts | TreeNodes, rows: int = 1) -> None:
        """Note ``rows`` more pending writes of ``view``; flush them all when there are
        enough."""
        self._dirty[view] = None
        self._count += rows
        if self._count >= WRITE_BEHIND_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write every pending row and column update to its table."""
        if self._dirty:
            for view in self._dirty:
                view._flush()
            self._dirty.clear()
        self._count = 0


class Table(Generic[K, V]):
    """A dict-like view of one table: ``key`` the key column, ``columns`` the columns a value
    is stored in, ``select`` what a read selects (default: ``columns``), ``encode(k, v)`` the
    column values of a value, ``decode(k, row)`` a value from the selected columns.

    Iteration is in ascending key order, read a page at a time."""

    def __init__(
        self,
        conn: SqlConnection,
        name: str,
        key: str,
        columns: Sequence[str],
        encode: Callable[[K, V], Sequence[Any]],
        decode: Callable[[K, Sequence[Any]], V],
        *,
        select: Sequence[str] | None = None,
        insert: str = "INSERT OR REPLACE",
    ) -> None:
        self._conn = conn
        self._encode = encode
        self._decode = decode
        self._cache: dict[Any, V] = {}
        self._name, self._key = name, key
        sel = ", ".join(select if select is not None else columns)
        cols = ", ".join([key, *columns])
        marks = ", ".join("?" * (len(columns) + 1))
        # table and column names are this module's constants, never outside input
        self._get = f"SELECT {sel} FROM {name} WHERE {key} = ?"  # noqa: S608
        self._put = f"{insert} INTO {name} ({cols}) VALUES ({marks})"
        self._first = f"SELECT {key}, {sel} FROM {name} ORDER BY {key} LIMIT {_PAGE}"  # noqa: S608
        self._next = (
            f"SELECT {key}, {sel} FROM {name} WHERE {key} > ? "  # noqa: S608
            f"ORDER BY {key} LIMIT {_PAGE}"
        )
        self._count = f"SELECT count(*) FROM {name}"  # noqa: S608
        self._columns_at = {c: i for i, c in enumerate(columns, 1)}  # position in a row
        self._buffer: WriteBehind | None = None  # see WriteBehind.attach
        self._seen: bytearray | None = None  # see filter_keys
        self._rows: dict[Any, list[Any]] = {}  # pending rows (key first), by key
        self._sets: dict[Any, dict[str, Any]] = {}  # pending column updates of written rows

    def drop_cache(self) -> None:
        """Forget the values held in memory (they are all in the table)."""
        self._cache.clear()

    def filter_keys(self) -> None:
        """Answer "absent" without SQL for most keys never written: from now on every key
        written sets two bits of a fixed bitmap (``_FILTER_BITS``, chosen by the key's hash),
        and a key whose bits are not both set was never written (a Bloom filter: a key whose
        bits are set is looked up as before). Only for a view through which every write to
        its table goes, on an empty table: a private database's (a replay's state, where
        most new grants, keys and holder keys are looked up before they are written, each a
        ``SELECT`` that finds nothing). Memory: the bitmap, whatever the table's size."""
        self._seen = bytearray(1 << (_FILTER_BITS - 3))

    def get(self, key: K, default: Any = None) -> Any:
        """The value of ``key``, else ``default``."""
        v = self._cache.get(key, _MISSING)
        if v is not _MISSING:
            return v
        seen = self._seen
        if seen is not None:
            a, b = _filter_bits(key)
            if not (seen[a >> 3] >> (a & 7) & 1 and seen[b >> 3] >> (b & 7) & 1):
                return default  # never written
        row = self._conn.execute(self._get, (key,)).fetchone()
        if row is None:
            return default
        v = self._decode(key, row)
        self._remember(key, v)
        return v

    def _remember(self, key: Any, v: V) -> None:
        cache = self._cache
        if len(cache) >= CACHE_ENTRIES:
            if self._buffer is not None:  # every pending row is cached: write them first
                self._buffer.flush()
            cache.clear()
        cache[key] = v

    def __getitem__(self, key: K) -> V:
        v = self._cache.get(key, _MISSING)
        if v is _MISSING:
            v = self.get(key, _MISSING)
            if v is _MISSING:
                raise KeyError(key)
        result: V = v
        return result

    def __contains__(self, key: object) -> bool:
        if key in self._cache:
            return True
        if not isinstance(key, int | bytes | str):  # not a type SQLite binds: never a key
            return False
        return self.get(key, _MISSING) is not _MISSING  # type: ignore[arg-type]  # a hit is cached

    def __setitem__(self, key: K, value: V) -> None:
        self._put_row(key, [key, *self._encode(key, value)])
        self._remember(key, value)

    def _put_row(self, key: Any, row: list[Any]) -> None:
        """Write one row (its key first): at once, or pending (it replaces what was pending)."""
        seen = self._seen
        if seen is not None:  # filter_keys: the key's two bits
            a, b = _filter_bits(key)
            seen[a >> 3] |= 1 << (a & 7)
            seen[b >> 3] |= 1 << (b & 7)
        if self._buffer is None:
            self._conn.execute(self._put, row)
            return
        if self._sets:
            self._sets.pop(key, None)  # the row holds every column
        self._rows[key] = row
        buffer = self._buffer
        buffer._dirty[self] = None  # WriteBehind.pending, inline: once per replayed record
        buffer._count += 1
        if buffer._count >= WRITE_BEHIND_ROWS:
            buffer.flush()

    def update_columns(self, key: K, value: V, **columns: Any) -> None:
        """Store ``value`` (``key``'s value with only the given columns changed) by updating
        those columns alone."""
        self._set_columns(key, columns)
        self._remember(key, value)

    def _set_columns(self, key: Any, columns: dict[str, Any]) -> None:
        """Update some columns of ``key``'s row: at once, or in its pending row, or pending."""
        if self._buffer is None:
            sets = ", ".join(f"{c} = ?" for c in columns)  # column names: the caller's constants
            self._conn.execute(
                f"UPDATE {self._name} SET {sets} WHERE {self._key} = ?",  # noqa: S608
                (*columns.values(), key),
            )
            return
        row = self._rows.get(key)
        if row is not None:
            for c, x in columns.items():
                row[self._columns_at[c]] = x
        else:
            self._sets.setdefault(key, {}).update(columns)
        self._buffer.pending(self)

    def _flush(self) -> None:
        """Write the pending rows, then the pending column updates (grouped by the columns
        they set; each holds the latest value of its columns, so their order is free)."""
        if self._rows:
            self._conn.executemany(self._put, self._rows.values())
            self._rows.clear()
        if self._sets:
            groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
            for key, columns in self._sets.items():
                groups.setdefault(tuple(columns), []).append((*columns.values(), key))
            for names, rows in groups.items():
                sets = ", ".join(f"{c} = ?" for c in names)  # the callers' constants
                self._conn.executemany(
                    f"UPDATE {self._name} SET {sets} WHERE {self._key} = ?",  # noqa: S608
                    rows,
                )
            self._sets.clear()

    def _read(self) -> None:
        """Before SQL reads the table past the cache: no write may be pending."""
        if self._buffer is not None:
            self._buffer.flush()

    def setdefault(self, key: K, default: V) -> V:
        """The value of ``key``; when absent, store ``default`` and return it."""
        v = self.get(key, _MISSING)
        if v is _MISSING:
            self[key] = default
            return default
        result: V = v
        return result

    def items(self) -> Iterator[tuple[K, V]]:
        """Every entry in ascending key order (values decoded from the rows: read them, do
        not mutate them). No cursor stays open while the caller runs."""
        self._read()
        rows = self._conn.execute(self._first).fetchall()
        while rows:
            for row in rows:
                yield row[0], self._decode(row[0], row[1:])
            if len(rows) < _PAGE:
                return
            rows = self._conn.execute(self._next, (rows[-1][0],)).fetchall()

    def keys(self) -> Iterator[K]:
        """Every key, in ascending order."""
        for k, _ in self.items():
            yield k

    def values(self) -> Iterator[V]:
        """Every value, in ascending order of the keys."""
        for _, v in self.items():
            yield v

    __iter__ = keys

    def __len__(self) -> int:
        self._read()
        n: int = self._conn.execute(self._count).fetchone()[0]
        return n

    def __bool__(self) -> bool:
        return len(self) > 0


class DocTable(Table[int, dict[str, Any]]):
    """A view of payload dicts keyed by record index. ``fields``: (column, payload member)
    copied into columns for SQL (a list as JSON text, a bool as 0/1); ``index_member``: the
    member that holds the key, if the dict has one; ``extras``: (column, member, is_bool), what
    the state adds to the payload, in the order it adds them (a NULL column: not added yet);
    ``doc``: the payload itself, as deterministic CBOR (``encode_doc``/``decode_doc``)."""

    def __init__(
        self,
        conn: SqlConnection,
        name: str,
        fields: Sequence[tuple[str, str]],
        index_member: str | None,
        extras: Sequence[tuple[str, str, bool]],
        encode_doc: Callable[[Any], bytes],
        decode_doc: Callable[[bytes], Any],
    ) -> None:
        self._fields = tuple(m for _, m in fields)
        self._index_member = index_member
        self._extras = tuple((m, b) for _, m, b in extras)
        self._own = {m for _, m, _ in extras} | ({index_member} if index_member else set())
        self._encode_doc = encode_doc
        self._decode_doc = decode_doc
        self._name = name
        columns = (*(c for c, _ in fields), *(c for c, _, _ in extras), "doc")
        super().__init__(conn, name, "idx", columns, self._row, self._value)

    def _row(self, _k: int, v: dict[str, Any]) -> tuple[Any, ...]:
        payload = {m: x for m, x in v.items() if m not in self._own}
        return self._columns(payload, [v.get(m) for m, _ in self._extras], None)

    def _columns(
        self, payload: dict[str, Any], extras: list[Any], raw: bytes | None
    ) -> tuple[Any, ...]:
        get = payload.get
        row = [get(m) for m in self._fields]
        row += extras
        row.append(self._encode_doc(payload) if raw is None else raw)
        return tuple([x if type(x) in _PLAIN_TYPES else _column(x) for x in row])

    def _value(self, k: int, row: Sequence[Any]) -> dict[str, Any]:
        d: dict[str, Any] = self._decode_doc(bytes(row[-1]))
        if self._index_member is not None:
            d[self._index_member] = k
        at = len(self._fields)
        for i, (member, is_bool) in enumerate(self._extras):
            x = row[at + i]
            if x is not None:
                d[member] = bool(x) if is_bool else x
        return d

    def add(self, k: int, payload: dict[str, Any], raw: bytes | None, **extras: Any) -> None:
        """Store a payload (``raw``: its CBOR bytes as recorded, when the caller has them)
        with the first of the extras."""
        row = self._columns(payload, [extras.get(m) for m, _ in self._extras], raw)
        self._put_row(k, [k, *row])
        v = dict(payload)
        if self._index_member is not None:
            v[self._index_member] = k
        v.update(extras)
        self._remember(k, v)

    def update(self, k: int, **extras: Any) -> dict[str, Any]:
        """Add extras to a stored payload (their columns only); returns the new value."""
        v: dict[str, Any] = self[k]
        v.update(extras)
        self._set_columns(k, {m: _column(x) for m, x in extras.items()})  # columns: the members
        self._remember(k, v)
        return v


def _filter_bits(key: Any) -> tuple[int, int]:
    """The two bits of ``key`` in a key filter (``Table.filter_keys``): from its hash."""
    h = hash(key)
    return h & _FILTER_MASK, (h >> 32) & _FILTER_MASK


_PLAIN_TYPES = frozenset((int, str, bytes, type(None)))


def _column(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, list | tuple):
        return json_text(v)
    return v


_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f-\U0010ffff]*')


def json_text(values: Sequence[Any]) -> str:
    """A list as compact JSON text (a column SQL reads with ``json_each``); a list of plain
    ASCII strings (the code lists) without the encoder."""
    if not values:
        return "[]"
    try:  # plain strings, all of them: their concatenation is plain (a non-str: TypeError)
        plain = _PLAIN.fullmatch("".join(values)) is not None
    except TypeError:
        plain = False
    if plain:
        return '["' + '","'.join(values) + '"]'
    return json.dumps(list(values), separators=(",", ":"))


class Inserts:
    """Rows added to a table that no ``Table`` view reads (one a ``Lookup`` queries): each
    ``add`` written at once with one ``executemany``, or, on a private database
    (``WriteBehind.attach``), pending until the batch is flushed."""

    def __init__(self, conn: SqlConnection, sql: str) -> None:
        self._conn = conn
        self._sql = sql  # an INSERT with a placeholder per column
        self._buffer: WriteBehind | None = None
        self._rows: list[tuple[Any, ...]] = []

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows``."""
        if self._buffer is None:
            self._conn.executemany(self._sql, rows)
            return
        self._rows += rows
        self._buffer.pending(self, len(rows))

    def _flush(self) -> None:
        if self._rows:
            self._conn.executemany(self._sql, self._rows)
            self._rows.clear()


class Lookup(Generic[K]):
    """A read-only view: ``sql`` selects one column for one key, in order; ``get`` returns the
    list (``default`` when it is empty) and ``in`` says whether it is not empty."""

    def __init__(self, conn: SqlConnection, sql: str) -> None:
        self._conn = conn
        self._sql = sql
        self._buffer: WriteBehind | None = None  # flushed before each read (WriteBehind.attach)

    def get(self, key: Any, default: Any = None) -> Any:
        """The values selected for ``key``, else ``default``."""
        if self._buffer is not None:
            self._buffer.flush()
        rows = self._conn.execute(self._sql, (key,)).fetchall()
        return [r[0] for r in rows] if rows else default

    def __getitem__(self, key: Any) -> list[K]:
        result: list[K] = self.get(key, [])
        return result

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int | bytes | str) and bool(self.get(key))
