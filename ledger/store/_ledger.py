"""The durable ledger store: records, stored Merkle hashes and checkpoints in one SQLite file,
or in one schema of a PostgreSQL database (a ``postgresql://`` URL; ADR 0010).

The log's I/O is here and in its neighbours in ``ledger.store`` (``_conn`` connections,
``_schema`` tables, ``_export`` export and import); the witness state, the audit's readers
and the report's writers do their own I/O in their packages. The math is in ``ledger.tlog``
and the record format in ``ledger.entries``. Guarantees:

- WAL mode with ``synchronous=FULL``: a commit is fsynced before ``append`` returns (on
  PostgreSQL: ``synchronous_commit=on``).
- Appends run in ``BEGIN IMMEDIATE`` transactions (on PostgreSQL: a row lock on ``head``), so
  writers in several processes serialize; the next index is read inside the write lock, so
  none is lost or duplicated.
- Appending leaf n writes the record's bytes and one ``tree`` row: the hashes of the complete
  subtrees it completes (Go sumdb/tlog's stored hashes, grouped by leaf), so roots and proofs
  at any size need O(log n) row reads in one query, and opening a ledger reads nothing but its
  metadata.
- The derived state (ADR 0008) lives in ``st_*`` tables, updated in each append's
  transaction, so it covers exactly the committed records.
- The latest checkpoint (table ``head``) advances only by compare-and-swap inside the same
  transaction that computed its root, and only after the stored tree is checked to still have
  the previous checkpoint's root at the previous size: the log cannot sign two inconsistent
  checkpoints. Triggers make records, hashes and checkpoints append-only.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from keys import (
    PublicKey,
    SigningKey,
    check_note_key_name,
)
from keys.errors import (
    ConflictError,
    LedgerIntegrityError,
    LicError,
    MalformedError,
)

from .. import tlog as mk
from ..entries import ZERO_HASH, Record, RecordEncoder, check_entry_unparsed, decode_record
from ..state import LedgerState, state_of
from ..tlog import (
    Checkpoint,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    RevokedSet,
    SignedCheckpoint,
    SparseRevokedSet,
    format_receipt,
    is_revset_extension,
    open_checkpoint,
    revoked_set_for,
    sign_checkpoint,
)
from ._conn import Conn, begin_write, durable, has_table
from ._export import export_jsonl, import_jsonl
from ._open import create_store, open_store
from ._pg import PgConnection, is_url, shown
from ._schema import STORE_FORMAT, rows_query, store_cosignatures
from ._stored import apply_new, build_state, state_ready

__all__ = ["Appended", "Ledger"]

_INSERT_RECORD = "INSERT INTO records (idx, data) VALUES (?, ?)"
_INSERT_TREE = "INSERT INTO tree (idx, hashes) VALUES (?, ?)"
_STREAM_CACHE_KIB = 2048  # page cache of a handle set up by stream_reads
_PAGE = 1024
_CACHE_NODES = 1 << 17
_CACHE_MIN_LEVEL = 4
_CACHE_FOLDS = 4096
_sha256 = hashlib.sha256


@dataclass(slots=True)
class Appended:
    """What an append acknowledges: the index and leaf hash of a durable record."""

    index: int
    leaf_hash: bytes
    record: bytes


class Ledger:
    """An open ledger: a SQLite file, or a schema of a PostgreSQL database named by a
    ``postgresql://`` URL (same records, same bytes). Create with ``Ledger.create``, open
    with ``Ledger.open``; ``location`` is the path or URL, ``path`` the file (None for a URL)."""

    def __init__(self, conn: Conn, path: Path | str) -> None:
        self._conn = conn
        self.location = str(path)
        self.path: Path | None = None if isinstance(conn, PgConnection) else Path(path)
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if (
            meta.get("format") != STORE_FORMAT
            or not isinstance(meta.get("origin"), str)
            or not isinstance(meta.get("log_vkey"), str)
        ):
            raise MalformedError(f"ledger: {shown(path)} is not a {STORE_FORMAT} store")
        self.origin: str = meta["origin"]
        self.log_vkey: str = meta["log_vkey"]
        self.log_key_name: str | None = meta.get("log_key_name")
        self.log_verifier = Ed25519NoteVerifier.from_vkey(self.log_vkey)
        if self.log_verifier.name != self.origin:
            raise MalformedError("ledger: log key name differs from the origin")
        if isinstance(conn, sqlite3.Connection):
            durable(conn, Path(path), "ledger")
        self._cache: dict[int, bytes] = {}
        # The lowest tree level whose nodes are cached. It rises by one each time the cache
        # fills, so that a tree too large to cache from level 4 keeps its upper levels rather
        # than emptying and refilling the whole cache over and over.
        self._cache_level = _CACHE_MIN_LEVEL
        self._folds: dict[tuple[int, ...], bytes] = {}
        # After our own write: the tree's right edge and the last leaf hash (see _write)
        self._tail: tuple[mk.Frontier, bytes] | None = None
        self._encoder: RecordEncoder | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        origin: str,
        log_key: PublicKey | SigningKey,
        *,
        log_key_name: str | None = None,
    ) -> Ledger:
        """Create a new, empty ledger file (or, for a ``postgresql://`` URL, the ledger's tables
        in the URL's schema, which must hold none yet). With a SigningKey, also sign the size-0
        checkpoint. ``log_key_name`` (the log key's name in a keyring) is remembered for
        tools."""
        check_note_key_name(origin)
        pub = log_key.public_key if isinstance(log_key, SigningKey) else log_key
        conn, location = create_store(path, origin, pub, log_key_name)
        try:
            ledger = cls(conn, location)
        except BaseException:
            conn.close()
            raise
        if isinstance(log_key, SigningKey):
            ledger.checkpoint(log_key)
        return ledger

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Ledger:
        """Open an existing ledger (a file, or a ``postgresql://`` URL). Reads only its
        metadata: nothing is rehashed."""
        conn, location = open_store(path)
        try:
            return cls(conn, location)
        except sqlite3.DatabaseError as e:
            conn.close()
            raise MalformedError(f"ledger: {shown(location)} is not a ledger store: {e}") from e
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        """Close the ledger's connection."""
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads -----------------------------------------------------------------------------
    @property
    def connection(self) -> Conn:
        """The handle's connection (for this package's export and import): SQLite's, or the
        PostgreSQL adapter (which takes the same SQL)."""
        return self._conn

    @property
    def size(self) -> int:
        """Number of records (committed), read from the store each time."""
        row = self._conn.execute("SELECT max(idx) FROM records").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def _read_rows(self, rows: Sequence[int]) -> dict[int, bytes]:
        """The stored hash rows named, in one query."""
        want = list(dict.fromkeys(rows))
        conn = self._conn
        if isinstance(conn, PgConnection):
            got = dict(conn.read_rows(want))
        else:
            got = dict(conn.execute(rows_query(len(want)), want).fetchall())
        if len(got) != len(want):
            raise MalformedError("ledger: size beyond the tree")
        return got

    def _node_hashes(self, nodes: Iterable[int]) -> dict[int, bytes]:
        """Hashes of the named nodes (``row << 6 | slot``), reading the rows not cached in one
        query. Nodes of subtrees of 16+ leaves are cached: stored hashes never change."""
        cache = self._cache
        out: dict[int, bytes] = {}
        missing: list[int] = []
        for n in nodes:
            h = cache.get(n)
            if h is None:
                missing.append(n)
            else:
                out[n] = h
        if missing:
            out.update(self._fetch_nodes(missing))
        return out

    def _fetch_nodes(self, nodes: Sequence[int]) -> dict[int, bytes]:
        """Hashes of the named nodes, read from their rows in one query (and cached)."""
        rows = self._read_rows([n >> 6 for n in nodes])
        cache = self._cache
        if len(cache) > _CACHE_NODES:
            cache.clear()
            self._cache_level = min(self._cache_level + 1, 63)
        level = self._cache_level
        out: dict[int, bytes] = {}
        for n in nodes:
            slot = n & 63
            h = rows[n >> 6][slot * mk.HASH_SIZE : (slot + 1) * mk.HASH_SIZE]
            if len(h) != mk.HASH_SIZE:
                raise LedgerIntegrityError("ledger: a stored hash row is truncated")
            out[n] = h
            if slot >= level:
                cache[n] = h
        return out

    def root(self, size: int | None = None) -> bytes:
        """RFC 9162 root hash of the first ``size`` records (default: all)."""
        if size is None:
            size = self.size
        _check_size(size)
        nodes = mk.root_plan(size)
        h = self._node_hashes(nodes)
        return mk.fold([h[n] for n in nodes])

    def leaf_hash(self, index: int) -> bytes:
        """The stored leaf hash of record ``index``."""
        _check_size(index)
        try:
            return self._read_rows([index])[index][: mk.HASH_SIZE]
        except MalformedError:
            raise MalformedError(f"ledger: no record {index}") from None

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of record ``index`` in the tree of ``size`` records."""
        _check_size(index)
        _check_size(size)
        if index >= size:
            raise MalformedError("inclusion proof: index must be smaller than size")
        if size == 1:
            self.leaf_hash(index)  # still refuse a tree that does not exist
            return []
        return self._path_hashes(*mk.path_parts(index, 0, size))

    def _path_hashes(
        self, siblings: list[int], right: tuple[int, ...], left: tuple[int, ...]
    ) -> list[bytes]:
        """The hashes of a path given as parts (see ``ledger.tlog.path_parts``), in one query."""
        fold = self._folds.get(right) if right else None
        want = [*siblings, *left] if fold is not None or not right else [*siblings, *right, *left]
        get = self._cache.get
        hs = [get(n) for n in want]
        if None in hs:
            got = self._fetch_nodes([n for n, h in zip(want, hs, strict=True) if h is None])
            hs = [got[n] if h is None else h for n, h in zip(want, hs, strict=True)]
        k = len(siblings)
        out: list[bytes] = hs[:k]  # type: ignore[assignment]  # no None left
        if right:
            if fold is None:
                r = k + len(right)
                fold = mk.fold(hs[k:r])  # type: ignore[arg-type]
                if len(self._folds) > _CACHE_FOLDS:
                    self._folds.clear()
                self._folds[right] = fold
                k = r
            out.append(fold)
        out.extend(hs[k:])  # type: ignore[arg-type]
        return out

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 9162 consistency proof from ``size1`` to ``size2`` (0 < size1 <= size2)."""
        _check_size(size1)
        _check_size(size2)
        if not 0 < size1 <= size2:
            raise MalformedError("consistency proof: need 0 < size1 <= size2")
        if size2 > self.size:
            raise MalformedError("consistency proof: size2 beyond the tree")
        if size1 == size2:
            return []
        # The largest perfect subtree ending at size1 (left out when size1 is a power of two:
        # the verifier holds it as the old root), then its inclusion path in the size2 tree.
        level = (size1 & -size1).bit_length() - 1
        start = size1 - (1 << level)
        siblings, right, left = mk.path_parts(start, level, size2)
        if start:
            siblings = [(size1 - 1) << 6 | level, *siblings]
        return self._path_hashes(siblings, right, left)

    def record_bytes(self, index: int) -> bytes:
        """The bytes of record ``index`` as stored."""
        _check_size(index)
        row = self._conn.execute("SELECT data FROM records WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise MalformedError(f"ledger: no record {index}")
        return bytes(row[0])

    def record(self, index: int) -> Record:
        """The decoded record at ``index`` (strictly decoded from the stored bytes)."""
        return decode_record(self.record_bytes(index))

    def iter_records(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(index, record bytes) in index order, paged so that memory stays flat. ``end``
        defaults to the size when iteration starts."""
        if end is None:
            end = self.size
        i = start
        while i < end:
            hi = min(i + _PAGE, end)
            rows = self._conn.execute(
                "SELECT idx, data FROM records WHERE idx >= ? AND idx < ? ORDER BY idx", (i, hi)
            ).fetchall()
            if len(rows) != hi - i:
                raise LedgerIntegrityError(f"ledger: records missing in [{i}, {hi})")
            for idx, data in rows:
                yield int(idx), bytes(data)
            i = hi

    def stream_reads(self) -> None:
        """Set this handle up for one sequential pass over the records (the audit): no memory
        map (mapped pages read stay resident) and a small page cache: flat memory. (The
        PostgreSQL server manages its own cache: nothing to set.)"""
        if isinstance(self._conn, PgConnection):
            return
        self._conn.execute("PRAGMA mmap_size = 0")
        self._conn.execute(f"PRAGMA cache_size = -{_STREAM_CACHE_KIB}")

    def iter_raw(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every stored (index, bytes) row in index order, gaps and all: for the auditor, who
        checks contiguity itself and must see what is there, not what should be."""
        last = start - 1
        while True:
            rows = self._conn.execute(
                "SELECT idx, data FROM records WHERE idx > ? ORDER BY idx LIMIT ?", (last, _PAGE)
            ).fetchall()
            if not rows:
                return
            for idx, data in rows:
                yield int(idx), bytes(data)
            last = int(rows[-1][0])

    def checkpoint_notes(self) -> Iterator[bytes]:
        """Every stored checkpoint note, by increasing size, unverified: for the auditor."""
        last = -1
        while True:
            rows = self._conn.execute(
                "SELECT size, note FROM checkpoints WHERE size > ? ORDER BY size LIMIT ?",
                (last, _PAGE),
            ).fetchall()
            if not rows:
                return
            for size, note in rows:
                yield bytes(note)
                last = int(size)

    def ensure_state(self, progress: Callable[[int], None] | None = None) -> None:
        """Give a file made before the state tables existed its tables (once; a replay in
        one write transaction reporting to ``progress``, see ``build_state``). Writes call it."""
        if not state_ready(self._conn):
            self.rebuild_state(progress, only_if_missing=True)

    def rebuild_state(
        self, progress: Callable[[int], None] | None = None, *, only_if_missing: bool = False
    ) -> int:
        """Drop the state tables and build them again from the records, in one write
        transaction. Returns the number of records the stored state covers."""
        key, records = self.log_verifier.public_key.raw, lambda end: self.iter_records(0, end)
        build_state(self._conn, key, records, rebuild=not only_if_missing, progress=progress)
        return self.stored_state().size

    def stored_state(self) -> LedgerState:
        """The derived state stored in the ledger file (ADR 0008), read through this handle's
        connection: inside a write transaction, what it applies is part of that transaction.
        MalformedError for a file without the state tables (see ``ensure_state``)."""
        if not state_ready(self._conn):
            raise MalformedError("ledger: this file has no state tables yet (open it for writing)")
        key = self.log_verifier.public_key.raw  # (on PostgreSQL through PgConnection: ADR 0010)
        return LedgerState(key, self._conn)

    def state_at(self, size: int, progress: Callable[[int], None] | None = None) -> LedgerState:
        """The derived state of the first ``size`` records: the stored one when it covers
        exactly ``size``, else a replay into a temporary database (``progress``: state_of)."""
        if state_ready(self._conn):
            state = self.stored_state()
            if state.size == size:
                return state
        return state_of(self.iter_records(0, size), self.log_verifier.public_key.raw, progress)

    def revoked_set(self, size: int, *, version: int = 2) -> RevokedSet | SparseRevokedSet:
        """The revoked set (SPEC 12.1) of the first ``size`` records, its tree in ``version``."""
        return revoked_set_for(version, self.state_at(size).revoked_digests())

    def _revset_extension(self, size: int) -> str:
        """The lic-revoked/v2 line at ``size``: the stored tree's root, or a replay's."""
        return self.state_at(size).revoked_commitment(2).line

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """The latest signed checkpoint (None until one is signed), verified against the log
        key and the stored tree."""
        row = self._conn.execute("SELECT note FROM head WHERE id = 0").fetchone()
        if row is None or row[0] is None:
            return None
        return self._checked_checkpoint(bytes(row[0]))

    def checkpoint_at(self, size: int) -> SignedCheckpoint | None:
        """The checkpoint the log signed at exactly ``size`` (verified like the latest), or
        None if it signed none there."""
        row = self._conn.execute("SELECT note FROM checkpoints WHERE size = ?", (size,)).fetchone()
        return None if row is None else self._checked_checkpoint(bytes(row[0]))

    def checkpoints(self) -> Iterator[SignedCheckpoint]:
        """Every checkpoint the log signed, by increasing size (verified like the latest)."""
        for note in self.checkpoint_notes():
            yield self._checked_checkpoint(note)

    def _checked_checkpoint(self, note: bytes) -> SignedCheckpoint:
        try:
            signed, _ = open_checkpoint(note, self.log_verifier)
        except LicError as e:
            raise LedgerIntegrityError(f"ledger: stored checkpoint does not verify: {e}") from e
        cp = signed.checkpoint
        if self.root(cp.size) != cp.root:
            raise LedgerIntegrityError(f"ledger: stored checkpoint at {cp.size} differs from tree")
        return signed

    def receipt(self, index: int, checkpoint: SignedCheckpoint | None = None) -> bytes:
        """tlog-proof@v1 for record ``index`` at the exact size of ``checkpoint`` (default: the
        latest, with the cosignature lines stored for it, so the receipt alone shows which
        witnesses vouched for its tree). The record's bytes travel in the ``extra`` field."""
        if checkpoint is None:
            checkpoint = self.cosigned_checkpoint()
        if checkpoint is None:
            raise MalformedError("ledger: no checkpoint yet (run 'lic ledger checkpoint')")
        size = checkpoint.checkpoint.size
        if not 0 <= index < size:
            raise MalformedError(
                f"ledger: record {index} is not covered by the checkpoint of size {size} "
                "(sign a newer checkpoint first)"
            )
        proof = self.inclusion_proof(index, size)
        return format_receipt(index, proof, checkpoint.note, extra=self.record_bytes(index))

    # -- writes ----------------------------------------------------------------------------
    def append(
        self,
        entry_type: str,
        entry: bytes,
        *,
        now: int | None = None,
        log_key: SigningKey | None = None,
        check: Callable[[int, int], None] | None = None,
    ) -> Appended:
        """Append one entry durably; with ``log_key``, sign the new checkpoint in the same
        transaction. ``check(size, time)`` runs inside the write transaction before anything
        is written and may raise to refuse the entry. Returns once the record is fsynced."""
        return self.append_batch([(entry_type, entry)], now=now, log_key=log_key, check=check)[0]

    def append_batch(
        self,
        entries: Sequence[tuple[str, bytes]],
        *,
        now: int | None = None,
        log_key: SigningKey | None = None,
        check: Callable[[int, int], None] | None = None,
    ) -> list[Appended]:
        """Append entries in one durable transaction, in order, at consecutive indexes."""
        if not entries:
            raise MalformedError("append: nothing to append")
        for etype, entry in entries:
            check_entry_unparsed(etype, entry)
        t = int(time.time()) if now is None else now
        if isinstance(t, bool) or not 0 <= t < 1 << 63:
            raise MalformedError("append: integration time out of range")

        return self._write(entries_bytes=None, entries=entries, t=t, log_key=log_key, check=check)

    def append_encoded(
        self, records: Sequence[bytes], *, log_key: SigningKey | None = None
    ) -> list[Appended]:
        """Append records already encoded, each with its own index, prev hash and integration
        time (an import, a synthetic ledger). Each is decoded strictly and its index and prev
        chain checked before anything is written; the entries' signatures and the derived
        state are not checked (an audit does). With ``log_key``, sign the new checkpoint in the
        same transaction."""
        if not records:
            raise MalformedError("append: nothing to append")
        return self._write(entries_bytes=records, entries=None, t=0, log_key=log_key)

    def _write(
        self,
        *,
        entries_bytes: Sequence[bytes] | None,
        entries: Sequence[tuple[str, bytes]] | None,
        t: int,
        log_key: SigningKey | None,
        check: Callable[[int, int], None] | None = None,
    ) -> list[Appended]:
        conn = self._conn
        self.ensure_state()
        begin_write(conn)
        try:
            size = self.size
            state = self.stored_state()  # covers every record, unless a writer ran old code:
            if state.size < size:  # then catch up here
                apply_new(state, self.iter_records(state.size, size))
            if check is not None:
                check(size, t)
            tail = self._tail
            self._tail = None  # the frontier changes below: kept again only after COMMIT
            if tail is not None and tail[0].size == size:
                # Nobody appended since our last write: the right edge is unchanged (rows are
                # immutable and the size alone names the tree).
                frontier, prev = tail
            else:
                edge = mk.root_plan(size)
                last = (size - 1) << 6  # the leaf hash of the last record: slot 0 of its row
                have = self._node_hashes([*edge, last]) if size else {}
                frontier = mk.Frontier(size, [have[n] for n in edge])
                prev = have[last] if size else ZERO_HASH
            raws: list[bytes] = []
            leaves: list[bytes] = []
            index = size
            if entries is not None:
                encoder = self._encoder
                if encoder is None or encoder.time != t:
                    encoder = self._encoder = RecordEncoder(t)
                encode = encoder.encode
                for et, en in entries:
                    raw = encode(index, prev, et, en)
                    prev = _sha256(b"\x00" + raw).digest()  # mk.leaf_hash, inlined
                    raws.append(raw)
                    leaves.append(prev)
                    index += 1
            else:
                for raw in entries_bytes or ():
                    rec = decode_record(raw)
                    if rec.index != index:
                        raise LedgerIntegrityError(f"import: record {index} has index {rec.index}")
                    if rec.prev != prev:
                        raise LedgerIntegrityError(f"import: record {index} breaks the prev chain")
                    prev = mk.leaf_hash(raw)
                    raws.append(raw)
                    leaves.append(prev)
                    index += 1
            tree_rows = frontier.extend(leaves)
            if len(raws) == 1:  # the single-append path: execute costs less than executemany
                conn.execute(_INSERT_RECORD, (size, raws[0]))
                conn.execute(_INSERT_TREE, (size, tree_rows[0]))
            else:
                conn.executemany(_INSERT_RECORD, zip(range(size, index), raws, strict=True))
                conn.executemany(_INSERT_TREE, zip(range(size, index), tree_rows, strict=True))
            out = list(map(Appended, range(size, index), leaves, raws))
            # the derived state, in this transaction (a typed check already applied its entry)
            apply_new(self.stored_state(), zip(range(size, index), raws, strict=True))
            if log_key is not None:
                self._advance_checkpoint(frontier.size, frontier.root(), log_key)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._tail = (frontier, prev)
        return out

    def checkpoint(
        self,
        log_key: SigningKey,
        *,
        extensions: Sequence[str] = (),
        progress: Callable[[int], None] | None = None,
    ) -> SignedCheckpoint:
        """Sign a checkpoint at the current size (compare-and-swap on the latest) and return
        it, with optional C2SP extension lines. At the latest checkpoint's size, the stored
        checkpoint is returned unchanged. Its revoked-set line comes from the stored state
        (``progress``: a first build of the state tables, see ``ensure_state``)."""
        conn = self._conn
        self.ensure_state(progress)
        begin_write(conn)
        try:
            size = self.size
            signed = self._advance_checkpoint(size, self.root(size), log_key, extensions)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return signed

    def _advance_checkpoint(
        self, size: int, root: bytes, log_key: SigningKey, extensions: Sequence[str] = ()
    ) -> SignedCheckpoint:
        """Inside a write transaction: CAS the head from the stored latest to (size, root)."""
        signer = Ed25519NoteSigner(self.origin, log_key)
        if signer.key_hash != self.log_verifier.key_hash or (
            log_key.public_key != self.log_verifier.public_key
        ):
            raise MalformedError("checkpoint: this is not the ledger's log key")
        old_size, old_root, old_note = self._conn.execute(
            "SELECT size, root, note FROM head WHERE id = 0"
        ).fetchone()
        if size < old_size:
            raise ConflictError("checkpoint: the latest checkpoint is newer")
        if old_size > 0 and self.root(old_size) != old_root:
            raise LedgerIntegrityError("checkpoint: stored tree no longer matches the latest")
        if size == old_size and old_note is not None:
            if root != old_root:
                raise LedgerIntegrityError("checkpoint: same size, different root")
            return open_checkpoint(bytes(old_note), self.log_verifier)[0]
        if any(is_revset_extension(e) for e in extensions):
            raise MalformedError("checkpoint: the log computes its own lic-revoked line")
        lines = (self._revset_extension(size), *extensions)
        signed = sign_checkpoint(Checkpoint(self.origin, size, root, lines), signer)
        cur = self._conn.execute(
            "UPDATE head SET size = ?, root = ?, note = ? WHERE id = 0 AND size = ? AND root = ?",
            (size, root, signed.note, old_size, old_root),
        )
        if cur.rowcount != 1:
            raise ConflictError("checkpoint: another writer advanced the checkpoint")
        self._conn.execute(
            "INSERT INTO checkpoints (size, root, note) VALUES (?, ?, ?)",
            (size, root, signed.note),
        )
        return signed

    # -- witness cosignatures (C2SP tlog-cosignature), SPEC 13 ------------------------------
    def add_cosignatures(self, size: int, lines: Sequence[str]) -> int:
        """Store cosignature lines for the signed checkpoint at ``size`` (the caller verified
        them against the witness keys it trusts). One line per signer (name and key id) and
        checkpoint: a signer's newer line replaces its older one, so the cosigned note never
        holds two lines by one key (which 8.1 refuses). Returns how many lines were added or
        replaced. The checkpoint notes themselves stay as the log signed them."""
        _check_size(size)
        return store_cosignatures(self._conn, size, lines, self.log_verifier)

    def cosignatures(self, size: int) -> list[str]:
        """The stored cosignature lines of the checkpoint at ``size``, in the order stored."""
        _check_size(size)
        if not has_table(self._conn, "cosignatures"):
            return []
        order = "seq" if isinstance(self._conn, PgConnection) else "rowid"  # first stored first
        rows = self._conn.execute(
            f"SELECT line FROM cosignatures WHERE size = ? ORDER BY {order}",  # noqa: S608
            (size,),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def cosigned_checkpoint(self, size: int | None = None) -> SignedCheckpoint | None:
        """The checkpoint at ``size`` (default: the latest) as the log signed it, followed by
        the stored cosignature lines: the note a bundle carries."""
        cp = self.latest_checkpoint() if size is None else self.checkpoint_at(size)
        if cp is None:
            return None
        extra = self.cosignatures(cp.checkpoint.size)
        if not extra:
            return cp
        note = cp.note + "".join(extra).encode("utf-8")
        return SignedCheckpoint(cp.checkpoint, note)

    # -- export and import (see _export) -------------------------------------------------
    def export_jsonl(self, out: IO[str]) -> int:
        """Write the ledger as JSON lines (SPEC 6.4): a header, one line per record, then every
        checkpoint note with its stored cosignature lines. Returns the number of records."""
        return export_jsonl(self, out)

    @classmethod
    def import_jsonl(
        cls,
        path: str | os.PathLike[str],
        lines: Iterable[str | bytes] | IO[bytes] | IO[str],
    ) -> Ledger:
        """Create a ledger at ``path`` from an export, re-verifying every record (strict
        encoding, index, prev chain, leaf hash) and every checkpoint (log signature, origin,
        root at its size). Nothing is left behind if any check fails. ``lines`` is an
        iterable of lines or an open file, which is read with bounded line reads."""
        return import_jsonl(cls.create, str(path) if is_url(path) else Path(path), lines)


def _check_size(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 1 << 63:
        raise MalformedError("ledger: index or size out of range")
