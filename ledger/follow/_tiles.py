"""Hashes of a log's tree read from its C2SP tlog-tiles, for one tree size: any complete
subtree's hash (folded from the tile of its level when the subtree's height is not a multiple
of 8), the root, an RFC 9162 consistency proof and the leaf hashes of a range. Tiles are
fetched once each and never trusted: every hash read here ends in a root or a proof that the
caller checks against a signed checkpoint."""

from __future__ import annotations

from keys.errors import LedgerIntegrityError

from ..tlog import (
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    consistency_plan,
    fold,
    inclusion_plan,
    node_hash,
    root_plan,
)
from ._http import MAX_TILE, Fetch, UnreachableError

__all__ = ["TileReader"]


class TileReader:
    """The tree of ``size`` leaves as the log at ``fetch`` serves it in tiles."""

    def __init__(self, fetch: Fetch, size: int) -> None:
        self.fetch = fetch
        self.size = size
        self._tiles: dict[str, bytes] = {}

    def tile(self, level: int, index: int) -> bytes:
        """The hashes of tile ``(level, index)`` at this size (full or partial), fetched once;
        a tile the log does not serve is an UnreachableError (retry: it may not publish it
        yet), one of the wrong length a LedgerIntegrityError."""
        n = self.size >> (TILE_HEIGHT * level)
        full, part = n >> TILE_HEIGHT, n & (TILE_WIDTH - 1)
        width = TILE_WIDTH if index < full else part
        if index > full or width == 0:
            raise LedgerIntegrityError(f"tiles: no tile {level}/{index} in a tree of {self.size}")
        t = Tile(level, index, width)
        data = self._tiles.get(t.path)
        if data is None:
            got = self.fetch(t.path, MAX_TILE)
            if got is None:
                raise UnreachableError(
                    f"the log does not serve {t.path} (tree size {self.size}) yet"
                )
            if len(got) != width * HASH_SIZE:
                raise LedgerIntegrityError(f"{t.path}: {len(got)} bytes, expected {width * 32}")
            self._tiles[t.path] = data = got
        return data

    def subtree(self, level: int, k: int) -> bytes:
        """The hash of complete subtree ``k`` of ``2**level`` leaves."""
        if (k + 1) << level > self.size:
            raise LedgerIntegrityError("tiles: subtree beyond the tree size")
        tl, r = divmod(level, TILE_HEIGHT)
        first = k << r  # index of its first hash in the row of level 8 * tl
        data = self.tile(tl, first >> TILE_HEIGHT)
        off = first & (TILE_WIDTH - 1)
        row = [data[(off + i) * HASH_SIZE : (off + i + 1) * HASH_SIZE] for i in range(1 << r)]
        while len(row) > 1:  # a perfect subtree: hash pairs, level by level
            row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        return row[0]

    def _node(self, node: int) -> bytes:
        level, row = node & 63, node >> 6  # the store's node id (ledger.tlog.node_location)
        return self.subtree(level, ((row + 1) >> level) - 1)

    def root(self) -> bytes:
        """The root of the tree of ``size`` leaves."""
        return fold([self._node(n) for n in root_plan(self.size)])

    def consistency(self, old: int) -> list[bytes]:
        """The RFC 9162 consistency proof from ``old`` (0 < old <= size) to this size."""
        return [
            self._node(e[0]) if len(e) == 1 else fold([self._node(n) for n in e])
            for e in consistency_plan(old, self.size)
        ]

    def leaves(self, bundle: Tile) -> list[bytes]:
        """The leaf hashes of the entries of entry bundle ``bundle`` (its level-0 tile)."""
        data = self.tile(0, bundle.index)
        return [data[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(len(data) // HASH_SIZE)]

    def inclusion(self, index: int) -> list[bytes]:
        """The RFC 9162 inclusion proof of leaf ``index`` in this tree."""
        return [
            self._node(e[0]) if len(e) == 1 else fold([self._node(n) for n in e])
            for e in inclusion_plan(index, self.size)
        ]
