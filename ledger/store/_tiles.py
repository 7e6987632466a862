"""The log's C2SP tlog-tiles read resources from the store (SPEC 16): hash tiles read from the
stored tree, entry bundles from the stored records, large records by SHA-256, and the static
copy of all of them that ``lic ledger tiles`` writes.

Everything is served at the size of the latest signed checkpoint: a tile, bundle or blob
exists when the tree at that size has it (a partial tile of an older size included, its
hashes being a prefix of the current ones), so nothing beyond what a checkpoint commits to is
ever published. Readers open the file read-only; a writer appending at the same time is not
disturbed (WAL).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from keys import open_atomic
from keys.errors import (
    ConflictError,
    KeyStoreError,
    LedgerIntegrityError,
    LicError,
    MalformedError,
)

from ..tlog import (
    HASH_SIZE,
    MAX_INLINE_ENTRY,
    SignedCheckpoint,
    Tile,
    blob_path,
    format_entry_bundle,
    open_checkpoint,
    tile_nodes,
    tiles_added,
)
from ._ledger import Ledger
from ._pg import PgConnection
from ._schema import rows_query

__all__ = [
    "BlobIndex",
    "TilesWritten",
    "checkpoint_size",
    "open_read_only",
    "read_blob",
    "read_entry_bundle",
    "read_tile",
    "write_tiles",
]

_FILE_MODE = 0o644
_READ_BUSY_MS = 10_000
_MAX_CHECKPOINT_FILE = 128 * 1024


def open_read_only(path: str | os.PathLike[str]) -> Ledger:
    """Open a ledger for reading only (SQLite ``mode=ro``): it can never write the file, and
    appends by other processes go on meanwhile (WAL)."""
    p = Path(path)
    if not p.is_file():
        raise MalformedError(f"ledger: no ledger at {p}")
    uri = f"file:{urllib.parse.quote(str(p.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as e:
        raise MalformedError(f"ledger: cannot open {p}: {e}") from e
    try:
        conn.execute(f"PRAGMA busy_timeout = {_READ_BUSY_MS}")
        return Ledger(conn, p)
    except sqlite3.DatabaseError as e:
        conn.close()
        raise MalformedError(f"ledger: {p} is not a ledger store: {e}") from e
    except BaseException:
        conn.close()
        raise


def checkpoint_size(ledger: Ledger) -> int:
    """The size of the latest signed checkpoint (0 before the first): what is served."""
    row = ledger.connection.execute("SELECT size, note FROM head WHERE id = 0").fetchone()
    return 0 if row is None or row[1] is None else int(row[0])


def read_tile(ledger: Ledger, tile: Tile, size: int) -> bytes | None:
    """The hashes of a hash tile, concatenated, from the stored tree; None when the tree of
    ``size`` leaves does not have it."""
    if tile.entries:
        raise MalformedError("tiles: an entry bundle is read with read_entry_bundle")
    if tile.end > size:
        return None
    nodes = tile_nodes(tile)
    conn = ledger.connection
    if tile.level == 0:
        rows = conn.execute(
            "SELECT idx, hashes FROM tree WHERE idx >= ? AND idx < ? ORDER BY idx",
            (tile.start, tile.end),
        ).fetchall()
    else:
        want = [n >> 6 for n in nodes]
        if isinstance(conn, PgConnection):  # the VALUES join is SQLite's (ADR 0010)
            rows = sorted(conn.read_rows(want))
        else:
            rows = sorted(conn.execute(rows_query(len(want)), want).fetchall())
    if len(rows) != len(nodes):
        raise LedgerIntegrityError("ledger: stored tree rows missing under a tile")
    out = bytearray()
    for (_, hashes), node in zip(rows, nodes, strict=True):
        slot = node & 63
        h = bytes(hashes[slot * HASH_SIZE : (slot + 1) * HASH_SIZE])
        if len(h) != HASH_SIZE:
            raise LedgerIntegrityError("ledger: a stored hash row is truncated")
        out += h
    return bytes(out)


def read_entry_bundle(ledger: Ledger, tile: Tile, size: int) -> bytes | None:
    """The entry bundle ``tile`` (its records, large ones as stubs); None when the tree of
    ``size`` leaves does not have it."""
    if not tile.entries:
        raise MalformedError("tiles: a hash tile is read with read_tile")
    if tile.end > size:
        return None
    records = [raw for _, raw in ledger.iter_records(tile.start, tile.end)]
    digests = [_large_digest(r) for r in records]
    return format_entry_bundle(records, digests)


def _large_digest(raw: bytes) -> bytes | None:
    return hashlib.sha256(raw).digest() if len(raw) > MAX_INLINE_ENTRY else None


@dataclass
class BlobIndex:
    """Where the records over 65,535 bytes are, by SHA-256 of their bytes: built on first use
    by one pass over the records' lengths (SQLite reads a length without the bytes), then
    extended from where it stopped. Safe to share between threads."""

    scanned: int = 0
    where: dict[bytes, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def find(self, ledger: Ledger, digest: bytes, size: int) -> int | None:
        """The index below ``size`` of the large record whose bytes hash to ``digest``."""
        with self._lock:
            if self.scanned < size:
                rows = ledger.connection.execute(
                    "SELECT idx, data FROM records WHERE idx >= ? AND idx < ? AND length(data) > ?",
                    (self.scanned, size, MAX_INLINE_ENTRY),
                )
                for idx, data in rows:
                    self.where.setdefault(hashlib.sha256(data).digest(), int(idx))
                self.scanned = size
            i = self.where.get(digest)
        return i if i is not None and i < size else None


def read_blob(ledger: Ledger, digest: bytes, size: int, index: BlobIndex) -> bytes | None:
    """The bytes of the record over 65,535 bytes, below ``size``, whose SHA-256 is
    ``digest``; None if there is none."""
    i = index.find(ledger, digest, size)
    if i is None:
        return None
    raw = ledger.record_bytes(i)
    if hashlib.sha256(raw).digest() != digest:
        raise LedgerIntegrityError("ledger: a stored record changed")
    return raw


@dataclass
class TilesWritten:
    """What ``write_tiles`` did: the checkpoint size it wrote the resources of, the size the
    directory held before (0: none), and the files written and found already in place."""

    size: int
    previous_size: int
    tiles: int = 0
    partial_tiles: int = 0
    entry_bundles: int = 0
    blobs: int = 0
    unchanged: int = 0
    checkpoint_written: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        """The counts as a JSON-ready mapping."""
        return {
            "size": self.size,
            "previous_size": self.previous_size,
            "tiles": self.tiles,
            "partial_tiles": self.partial_tiles,
            "entry_bundles": self.entry_bundles,
            "blobs": self.blobs,
            "unchanged": self.unchanged,
            "checkpoint_written": self.checkpoint_written,
        }


def _put(out: Path, rel: str, data: bytes) -> bool:
    """Write ``out/rel`` atomically unless it exists; an existing file must hold exactly
    ``data`` (tiles, bundles and blobs never change). Returns whether it was written."""
    path = out / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open_atomic(path, mode=_FILE_MODE, overwrite=False) as f:
                f.write(data)
            return True
        except KeyStoreError:
            if not path.exists():  # not the name taken meanwhile: a real failure
                raise
    with open(path, "rb") as f:
        have = f.read(len(data) + 1)
    if have != data:
        raise LedgerIntegrityError(f"tiles: {path} exists with other content (another log?)")
    return False


def _previous(ledger: Ledger, out: Path) -> tuple[int, bytes | None]:
    """The size of the checkpoint already in ``out`` (0 if none) and its bytes, after checking
    that it is this log's and that the stored tree still has its root."""
    path = out / "checkpoint"
    try:
        with open(path, "rb") as f:
            note = f.read(_MAX_CHECKPOINT_FILE + 1)
    except FileNotFoundError:
        return 0, None
    try:
        signed, _ = open_checkpoint(note, ledger.log_verifier)
    except LicError as e:
        raise MalformedError(f"tiles: {path} is not a checkpoint of this log: {e}") from e
    cp = signed.checkpoint
    if cp.size > ledger.size:
        raise ConflictError(f"tiles: {path} is at size {cp.size}, beyond the ledger")
    if ledger.root(cp.size) != cp.root:
        raise LedgerIntegrityError(f"tiles: {path} is not a checkpoint of this tree")
    return cp.size, note


def write_tiles(
    ledger: Ledger,
    out: str | os.PathLike[str],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> TilesWritten:
    """Write the log's read resources under ``out`` as static files, for the latest signed
    checkpoint with its stored cosignatures: the tiles, partial tiles, entry bundles and
    blobs the directory does not have yet, then ``checkpoint`` last (so a reader that sees a
    checkpoint finds everything under it). Incremental: only what the tree grew by since the
    checkpoint found in ``out`` is written, full tiles never again; every file is written
    atomically. ``progress(done, total)`` hears of each resource."""
    signed: SignedCheckpoint | None = ledger.cosigned_checkpoint()
    if signed is None:
        raise MalformedError("tiles: no checkpoint yet (run 'lic ledger checkpoint')")
    size = signed.checkpoint.size
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    old, old_note = _previous(ledger, root)
    if old > size:
        raise ConflictError(f"tiles: {root} holds a newer checkpoint (size {old}) than {size}")
    result = TilesWritten(size=size, previous_size=old)
    todo = list(tiles_added(old, size))
    for done, tile in enumerate(todo, 1):
        if tile.entries:
            _write_bundle(ledger, root, tile, result)
        else:
            data = read_tile(ledger, tile, size)
            assert data is not None  # every tile of tiles_added(old, size) ends by size
            if _put(root, tile.path, data):
                if tile.partial:
                    result.partial_tiles += 1
                else:
                    result.tiles += 1
            else:
                result.unchanged += 1
        if progress is not None:
            progress(done, len(todo))
    if old_note != signed.note:
        with open_atomic(root / "checkpoint", mode=_FILE_MODE, overwrite=True) as f:
            f.write(signed.note)
        result.checkpoint_written = True
    return result


def _write_bundle(ledger: Ledger, root: Path, tile: Tile, result: TilesWritten) -> None:
    records = [raw for _, raw in ledger.iter_records(tile.start, tile.end)]
    digests = [_large_digest(r) for r in records]
    for raw, d in zip(records, digests, strict=True):
        if d is not None:
            if _put(root, blob_path(d), raw):
                result.blobs += 1
            else:
                result.unchanged += 1
    if _put(root, tile.path, format_entry_bundle(records, digests)):
        result.entry_bundles += 1
    else:
        result.unchanged += 1
