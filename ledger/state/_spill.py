"""Bounded maps for the derived state: a dict up to a fixed number of entries, the rest spilled
to a private temporary SQLite database (see ADR 0006).

``SpillMap`` behaves like a dict whose iteration is always in ascending key order (so a state
iterates the same whether or not it spilled). The maps of one ``SpillStore`` share a budget of
entries held in memory; each map is a write-back cache. When an addition (a ``set`` or a
load) takes the store past its budget, the map holding the most entries writes its least
recently stored eighth of the budget (encoded, in one ``executemany``) to its table and drops it
from memory. A lookup that misses memory reads the table and brings the entry back. An entry
is always written when it leaves memory, so values may be mutated in place after a lookup,
but any addition to any map of the store may evict it; hence the rule for callers: after
mutating a value, store it back (``m[k] = v``) before touching the store's maps again. Values
yielded by ``items()``/``values()`` are snapshots for entries not held in memory: read them,
do not mutate them.

All maps of one state share one ``SpillStore``: one SQLite database opened on the first spill
(never for a small ledger) with an empty file name, which SQLite creates in its temporary
directory and unlinks at once: nothing is left on disk when the state is closed, dropped, or
the process dies. Keys are ints, bytes or str (SQLite orders them as Python does: numerically,
by memcmp, and by UTF-8 bytes, i.e. code points). Values are encoded by the map's codec
(``marshal`` by default: the state holds only ints, bytes, str, bools, None, lists, tuples and
dicts of those).
"""

from __future__ import annotations

import itertools
import marshal
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import sqlite3

__all__ = ["DEFAULT_BUDGET", "SpillMap", "SpillStore", "TypeIndex"]

DEFAULT_BUDGET = 65536  # entries held in memory by all the maps of one store (ADR 0006)
_FILTER_BITS = 22  # a map with bytes or str keys: 2^22 bits (512 KiB) of Bloom filter, 3 probes
_FILTER_MASK = (1 << _FILTER_BITS) - 1
_PAGE = 512  # rows per query of a sorted scan
_CACHE_KIB = 8192  # SQLite's page cache for the spill database

K = TypeVar("K", int, bytes, str)
V = TypeVar("V")
_MISSING: Any = object()
_SQL_TYPES = {int: "INTEGER", bytes: "BLOB", str: "TEXT"}


def _close(conn: sqlite3.Connection) -> None:
    conn.close()


class SpillStore:
    """The temporary database and the memory budget shared by one state's maps; the database
    is opened on first use only. ``budget``: entries held in memory by all its maps together
    (default ``DEFAULT_BUDGET``, read when the store is made)."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = DEFAULT_BUDGET if budget is None else budget
        if self.budget < 1:
            raise ValueError("SpillStore: the budget must be at least 1 entry")
        self.held = 0  # entries in memory, all maps together
        self._maps: list[weakref.ref[SpillMap[Any, Any]]] = []
        self._conn: sqlite3.Connection | None = None
        self._tables = 0
        self._finalizer: weakref.finalize[Any, SpillStore] | None = None

    def register(self, m: SpillMap[Any, Any]) -> None:
        """Count ``m`` among the maps that share this store's budget."""
        self._maps.append(weakref.ref(m))

    def make_room(self) -> None:
        """Evict from the map that holds the most entries until the store is within budget."""
        step = max(1, self.budget // 8)
        while self.held > self.budget:
            biggest: SpillMap[Any, Any] | None = None
            for ref in self._maps:
                m = ref()
                if m is not None and (biggest is None or len(m._mem) > len(biggest._mem)):
                    biggest = m
            if biggest is None or not biggest._mem:
                return
            biggest._evict(min(step, len(biggest._mem)))

    @property
    def opened(self) -> bool:
        """Whether the spill database has been opened."""
        return self._conn is not None

    def conn(self) -> sqlite3.Connection:
        """The spill database, a private temporary SQLite file opened on first use."""
        if self._conn is None:
            # "": a private on-disk temporary database, deleted by SQLite when closed (on Unix
            # the file is unlinked as soon as it is opened).
            import sqlite3  # only once the state outgrows memory: offline verifiers never do

            conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            self._conn = conn
            self._finalizer = weakref.finalize(self, _close, conn)
            for ref in self._maps:  # every Bloom filter at once: the peak does not creep later
                m = ref()
                if m is not None:
                    m._new_filter()
        return self._conn

    def new_table(self, key_type: type) -> str:
        """Create a table in the spill database for keys of ``key_type``; returns its name."""
        name = f"m{self._tables}"
        self._tables += 1
        sql_type = _SQL_TYPES[key_type]
        rowid = "" if sql_type == "INTEGER" else " WITHOUT ROWID"
        columns = f"k {sql_type} PRIMARY KEY, v BLOB NOT NULL"
        self.conn().execute(f"CREATE TABLE {name} ({columns}){rowid}")
        return name

    def close(self) -> None:
        """Close and delete the database (the maps must not be used afterwards)."""
        if self._finalizer is not None:
            self._finalizer()
        self._conn = None

    def __deepcopy__(self, memo: dict[int, Any]) -> SpillStore:
        return SpillStore(self.budget)  # a copy's maps spill to a database of their own


class SpillMap(Generic[K, V]):
    """A dict whose entries beyond its store's budget live in the store (see module doc)."""

    __slots__ = (
        "__weakref__",
        "_decode",
        "_encode",
        "_filter",
        "_key_type",
        "_mem",
        "_sql",
        "_store",
        "_table",
    )

    def __init__(
        self,
        store: SpillStore,
        key_type: type[K],
        *,
        encode: Callable[[Any], bytes] = marshal.dumps,
        decode: Callable[[bytes], Any] = marshal.loads,
    ) -> None:
        self._store = store
        self._key_type: type = key_type
        store.register(self)
        self._encode = encode
        self._decode = decode
        self._mem: dict[K, V] = {}
        self._table: str | None = None  # created on the first spill
        self._sql: dict[str, str] = {}
        # Bloom filter of the keys ever written to the table (bytes and str keys only: their
        # lookups of new keys are common; int keys here are record indexes, checked first
        # against the record types). A miss in memory and in the filter skips the query.
        self._filter: bytearray | None = None

    @property
    def store(self) -> SpillStore:
        """The store whose budget and database this map shares."""
        return self._store

    @property
    def spilled(self) -> bool:
        """Whether some entries have moved to the spill database."""
        return self._table is not None

    # -- single entries ------------------------------------------------------------------
    def get(self, key: K, default: Any = None) -> Any:
        """The value of ``key``, from memory or the spill database, else ``default``."""
        v = self._mem.get(key, _MISSING)  # a read does not move the entry (see _evict)
        if v is not _MISSING:
            return v
        if self._table is None or not self._maybe_on_disk(key):
            return default
        row = self._store.conn().execute(self._sql["get"], (key,)).fetchone()
        if row is None:
            return default
        v = self._decode(row[0])
        self._put(key, v)
        return v

    def __getitem__(self, key: K) -> V:
        v = self.get(key, _MISSING)
        if v is _MISSING:
            raise KeyError(key)
        result: V = v
        return result

    def __contains__(self, key: object) -> bool:
        if key in self._mem:
            return True
        if self._table is None or not isinstance(key, self._key_type):
            return False
        if not self._maybe_on_disk(key):
            return False
        return self._store.conn().execute(self._sql["has"], (key,)).fetchone() is not None

    def __setitem__(self, key: K, value: V) -> None:
        mem = self._mem
        if mem.pop(key, _MISSING) is not _MISSING:
            mem[key] = value  # now the most recently stored
            return
        mem[key] = value
        store = self._store
        store.held += 1
        if store.held > store.budget:
            store.make_room()

    def setdefault(self, key: K, default: V) -> V:
        """The value of ``key``; when absent, store ``default`` and return it."""
        v = self.get(key, _MISSING)
        if v is _MISSING:
            self._put(key, default)
            return default
        result: V = v
        return result

    def __delitem__(self, key: K) -> None:
        found = self._mem.pop(key, _MISSING) is not _MISSING
        if found:
            self._store.held -= 1
        if self._table is not None:
            found = self._store.conn().execute(self._sql["del"], (key,)).rowcount > 0 or found
        if not found:
            raise KeyError(key)

    def _put(self, key: K, value: V) -> None:
        """Add an entry that memory does not hold."""
        self._mem[key] = value
        store = self._store
        store.held += 1
        if store.held > store.budget:
            store.make_room()

    def _evict(self, n: int) -> None:
        """Write the ``n`` least recently stored (added, loaded or set) entries back and drop
        them from memory. A read does not count as a use: moving the entry on every hit cost
        more than the reloads it saved (the state stores back whatever it mutates)."""
        mem = self._mem
        out = list(itertools.islice(mem.items(), n))
        for k, _ in out:
            del mem[k]
        self._store.held -= len(out)
        self._write(out)

    def _new_filter(self) -> None:
        if self._filter is None and self._key_type is not int:
            self._filter = bytearray(1 << (_FILTER_BITS - 3))

    def _maybe_on_disk(self, key: object) -> bool:
        f = self._filter
        if f is None:
            return True
        h = hash(key) & 0xFFFF_FFFF_FFFF_FFFF
        m = _FILTER_MASK
        a, b, c = h & m, (h >> 21) & m, h >> 42
        return bool(
            f[a >> 3] >> (a & 7) & 1 and f[b >> 3] >> (b & 7) & 1 and f[c >> 3] >> (c & 7) & 1
        )

    def _write(self, items: list[tuple[K, V]]) -> None:
        if self._table is None:
            self._table = t = self._store.new_table(self._key_type)
            # t is our own table name (m0, m1, ...), never outside input
            self._sql = {
                "get": f"SELECT v FROM {t} WHERE k = ?",  # noqa: S608
                "has": f"SELECT 1 FROM {t} WHERE k = ?",  # noqa: S608
                "del": f"DELETE FROM {t} WHERE k = ?",  # noqa: S608
                "put": f"INSERT OR REPLACE INTO {t} (k, v) VALUES (?, ?)",  # noqa: S608
                "first": f"SELECT k, v FROM {t} ORDER BY k LIMIT {_PAGE}",  # noqa: S608
                "next": f"SELECT k, v FROM {t} WHERE k > ? ORDER BY k LIMIT {_PAGE}",  # noqa: S608
                "count": f"SELECT COUNT(*) FROM {t}",  # noqa: S608
            }
        enc = self._encode
        self._new_filter()
        f = self._filter
        if f is not None:
            m = _FILTER_MASK
            for k, _ in items:
                h = hash(k) & 0xFFFF_FFFF_FFFF_FFFF
                for bit in (h & m, (h >> 21) & m, h >> 42):
                    f[bit >> 3] |= 1 << (bit & 7)
        conn = self._store.conn()
        conn.execute("BEGIN")  # one transaction per batch, not one per row
        try:
            conn.executemany(self._sql["put"], [(k, enc(v)) for k, v in items])
        finally:
            conn.execute("COMMIT")

    def flush(self) -> None:
        """Write every entry held in memory to the table too (once it has spilled)."""
        if self._table is not None and self._mem:
            self._write(list(self._mem.items()))

    # -- the whole map, in ascending key order -----------------------------------------------
    def items(self) -> Iterator[tuple[K, V]]:
        """Every entry in ascending key order: the keys held in memory (sorted, a snapshot)
        merged with the table's rows, read a page at a time; memory wins where both hold a key.
        Nothing is written for a scan, and no cursor stays open while the caller runs."""
        mem = self._mem
        held = sorted(mem)
        if self._table is None:
            for k in held:
                v = self.get(k, _MISSING)  # may have spilled meanwhile: get finds it anyway
                if v is not _MISSING:
                    yield k, v
            return
        conn, dec, n = self._store.conn(), self._decode, len(held)
        i = 0
        rows = conn.execute(self._sql["first"]).fetchall()
        while True:
            for dk, raw in rows:
                while i < n and held[i] < dk:  # held only in memory (or evicted since)
                    v = self.get(held[i], _MISSING)
                    if v is not _MISSING:
                        yield held[i], v
                    i += 1
                if i < n and held[i] == dk:
                    i += 1
                v = mem.get(dk, _MISSING)
                yield dk, (dec(raw) if v is _MISSING else v)
            if len(rows) < _PAGE:
                break
            rows = conn.execute(self._sql["next"], (rows[-1][0],)).fetchall()
        for k in held[i:]:
            v = self.get(k, _MISSING)
            if v is not _MISSING:
                yield k, v

    def keys(self) -> Iterator[K]:
        """Every key, in ascending order (see ``items``)."""
        for k, _ in self.items():
            yield k

    def values(self) -> Iterator[V]:
        """Every value, in ascending order of the keys (see ``items``)."""
        for _, v in self.items():
            yield v

    __iter__ = keys

    def __len__(self) -> int:
        if self._table is None:
            return len(self._mem)
        self.flush()
        n: int = self._store.conn().execute(self._sql["count"]).fetchone()[0]
        return n

    def __bool__(self) -> bool:
        return bool(self._mem) or (self._table is not None and len(self) > 0)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpillMap):
            return list(self.items()) == list(other.items())
        if isinstance(other, dict):
            return len(self) == len(other) and all(
                k in other and other[k] == v for k, v in self.items()
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict[int, Any]) -> SpillMap[K, V]:
        import copy

        clone: SpillMap[K, V] = SpillMap(
            copy.deepcopy(self._store, memo),
            self._key_type,
            encode=self._encode,
            decode=self._decode,
        )
        for k, v in self.items():
            clone[k] = copy.deepcopy(v, memo)
        return clone

    def __repr__(self) -> str:
        return f"SpillMap({dict(self.items())!r})"


class TypeIndex:
    """Record index -> entry type, one byte per record (0: no entry applied at that index)."""

    __slots__ = ("_codes", "_names", "_types")

    def __init__(self, names: list[str]) -> None:
        if len(names) > 255:
            raise ValueError("TypeIndex: at most 255 entry types")
        self._names: list[str | None] = [None, *names]
        self._codes = {name: i + 1 for i, name in enumerate(names)}
        self._types = bytearray()

    def __setitem__(self, index: int, name: str) -> None:
        t = self._types
        if index == len(t):
            t.append(self._codes[name])
            return
        if index > len(t):
            t.extend(bytes(index + 1 - len(t)))
        t[index] = self._codes[name]

    def get(self, index: object, default: Any = None) -> Any:
        """The entry type of the record at ``index``, else ``default``."""
        if isinstance(index, int) and 0 <= index < len(self._types):
            name = self._names[self._types[index]]
            if name is not None:
                return name
        return default

    def __getitem__(self, index: int) -> str:
        name = self.get(index)
        if name is None:
            raise KeyError(index)
        result: str = name
        return result

    def __contains__(self, index: object) -> bool:
        return self.get(index) is not None

    def __len__(self) -> int:
        return sum(1 for c in self._types if c)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TypeIndex):
            return self._names == other._names and self._types.rstrip(b"\0") == other._types.rstrip(
                b"\0"
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
