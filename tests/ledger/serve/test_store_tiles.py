"""Tiles read from the store equal the C2SP formula computed with the naive RFC 9162 reference,
for every tile and every partial width of a tree; nothing past the checkpoint's size is read;
the large-record index follows the log as it grows."""

from __future__ import annotations

import hashlib

import pytest

from helpers.merkle_reference import mth
from helpers.serve_world import AUTHOR, LOG, ORIGIN, entries
from keys import MalformedError
from ledger.entries import sign_entry
from ledger.store import (
    BlobIndex,
    Ledger,
    checkpoint_size,
    open_read_only,
    read_blob,
    read_entry_bundle,
    read_tile,
)
from ledger.tlog import ENTRIES_LEVEL, Tile, parse_entry_bundle, tiles_of


@pytest.fixture(scope="module")
def led(tmp_path_factory):
    x = Ledger.create(tmp_path_factory.mktemp("t") / "l.db", ORIGIN, LOG)
    x.append_batch(entries(0, 700), log_key=LOG)
    yield x
    x.close()


def test_every_tile_and_width_is_the_formula(led):
    size = 700
    d = [raw for _, raw in led.iter_records(0, size)]
    ro = open_read_only(led.path)
    try:
        assert checkpoint_size(ro) == size
        tiles = {t for t in tiles_of(size) if not t.entries}
        tiles |= {Tile(0, n, w) for n in range(3) for w in range(1, 256) if n * 256 + w <= size}
        tiles |= {Tile(1, 0, w) for w in (1, 2)}
        for t in sorted(tiles, key=lambda t: (t.level, t.index, t.width)):
            span = 256**t.level
            want = b"".join(
                mth(d[(t.index * 256 + i) * span : (t.index * 256 + i + 1) * span])
                for i in range(t.width)
            )
            assert read_tile(ro, t, size) == want, t.path
        for t in (Tile(0, 2, 189), Tile(0, 3, 1), Tile(1, 0, 3), Tile(2, 0, 1), Tile(63, 0, 1)):
            assert read_tile(ro, t, size) is None, t.path
        assert read_tile(ro, Tile(0, 1, 100), 300) is None  # bounded by the size given
        with pytest.raises(MalformedError):
            read_tile(ro, Tile(ENTRIES_LEVEL, 0), size)
        with pytest.raises(MalformedError):
            read_entry_bundle(ro, Tile(0, 0), size)
        assert (
            parse_entry_bundle(read_entry_bundle(ro, Tile(ENTRIES_LEVEL, 2, 188), size), 188)
            == d[512:]
        )
        assert read_entry_bundle(ro, Tile(ENTRIES_LEVEL, 2, 189), size) is None
    finally:
        ro.close()


def test_the_read_only_handle_cannot_write(led):
    ro = open_read_only(led.path)
    try:
        with pytest.raises(Exception, match="readonly"):
            ro.append("test", sign_entry("test", b"x", AUTHOR))
    finally:
        ro.close()
    with pytest.raises(MalformedError, match="no ledger"):
        open_read_only(led.path.parent / "missing.db")


def test_the_blob_index_follows_the_log(tmp_path):
    w = Ledger.create(tmp_path / "l.db", ORIGIN, LOG)
    ro = open_read_only(w.path)
    index = BlobIndex()
    blobs = []
    try:
        for k in range(3):
            w.append_batch(entries(10 * k, 3), log_key=LOG)
            big = sign_entry("test", bytes([k]) * 70_000, AUTHOR)
            a = w.append("test", big)  # not yet checkpointed: not served
            digest = hashlib.sha256(a.record).digest()
            assert read_blob(ro, digest, checkpoint_size(ro), index) is None
            w.checkpoint(LOG)
            blobs.append((digest, a.record))
            for dg, raw in blobs:
                assert read_blob(ro, dg, checkpoint_size(ro), index) == raw
        small = hashlib.sha256(w.record_bytes(0)).digest()
        assert read_blob(ro, small, checkpoint_size(ro), index) is None
        assert len(index.where) == 3 and index.scanned == w.size
    finally:
        ro.close()
        w.close()
