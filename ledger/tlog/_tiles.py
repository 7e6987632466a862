"""C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile and entry-bundle coordinates, their
paths, which of them a tree of a given size has, where a tile's hashes are stored, and the
entry-bundle encoding with our rule for entries over 65,535 bytes. Pure: no I/O, no clock.

A level-``L`` tile ``N`` of width ``W`` lists the Merkle Tree Hashes of ``W`` consecutive
complete subtrees of ``256**L`` leaves each, starting at subtree ``N * 256``: the tree nodes
of height ``8 * L`` with indexes ``N * 256 .. N * 256 + W - 1``. A full tile has 256 of them; a
partial one (the right edge of a tree) 1 to 255. The entry bundle ``N`` of width ``W`` holds
the entries ``N * 256 .. N * 256 + W - 1``, each as a big-endian uint16 length and its bytes.

Entries over 65,535 bytes do not fit a uint16 length: such an entry is carried in its bundle
as a 33-byte stub, the byte ``0xff`` then the SHA-256 of the entry's bytes, and the bytes
themselves are served content-addressed at ``blob/<lowercase hex SHA-256>``. The rule is
strict both ways: an entry of at most 65,535 bytes is always inline, a larger one always a
stub, and a parser given the entry sizes refuses anything else. It is unambiguous for a log
whose entries never start with ``0xff`` (ours: a record is a CBOR map, first byte ``0xa6``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from keys.errors import MalformedError

from ._merkle import HASH_SIZE, MAX_SIZE

__all__ = [
    "BLOB_STUB_SIZE",
    "ENTRIES_LEVEL",
    "MAX_INLINE_ENTRY",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "BlobRef",
    "Tile",
    "blob_path",
    "blob_stub",
    "format_entry_bundle",
    "parse_blob_path",
    "parse_entry_bundle",
    "parse_tile_path",
    "tile_nodes",
    "tiles_added",
    "tiles_of",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes (or entries) in a full tile
MAX_TILE_LEVEL = 63
ENTRIES_LEVEL = -1  # the level of an entry bundle (Go's sumdb/tlog calls it the data tile)
MAX_INLINE_ENTRY = 0xFFFF
BLOB_STUB_SIZE = 1 + HASH_SIZE
_BLOB_MARK = 0xFF
_MAX_SEGMENTS = 7  # 2**63 - 1 has 19 digits: at most 7 three-digit path elements
_LEVEL_RE = re.compile(r"0|[1-9][0-9]?")
_WIDTH_RE = re.compile(r"[1-9][0-9]{0,2}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Tile:
    """A tile (``level`` 0 to 63) or an entry bundle (``level == ENTRIES_LEVEL``): index
    ``index`` within its level, ``width`` hashes or entries (256: full, 1-255: partial)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        for v in (self.level, self.index, self.width):
            if isinstance(v, bool) or not isinstance(v, int):
                raise MalformedError("tile: level, index and width are integers")
        if not ENTRIES_LEVEL <= self.level <= MAX_TILE_LEVEL:
            raise MalformedError("tile: level out of range")
        if not 0 <= self.index < MAX_SIZE:
            raise MalformedError("tile: index out of range")
        if not 1 <= self.width <= TILE_WIDTH:
            raise MalformedError("tile: width must be 1 to 256")

    @property
    def partial(self) -> bool:
        """Whether this is a partial tile (fewer than 256 hashes or entries)."""
        return self.width < TILE_WIDTH

    @property
    def entries(self) -> bool:
        """Whether this is an entry bundle rather than a hash tile."""
        return self.level == ENTRIES_LEVEL

    @property
    def span(self) -> int:
        """How many leaves one hash (or entry) of this tile covers: ``256**level``."""
        return 1 << (TILE_HEIGHT * max(self.level, 0))

    @property
    def start(self) -> int:
        """The first leaf the tile covers."""
        return self.index * TILE_WIDTH * self.span

    @property
    def end(self) -> int:
        """One past the last leaf the tile's ``width`` hashes cover: the smallest tree size
        that has this tile."""
        return (self.index * TILE_WIDTH + self.width) * self.span

    @property
    def path(self) -> str:
        """The tile's path below the log's prefix: ``tile/<L>/<N>[.p/<W>]`` or
        ``tile/entries/<N>[.p/<W>]``, ``<N>`` in three-digit elements, all but the last
        prefixed with ``x`` (index 1234067 is ``x001/x234/067``)."""
        level = "entries" if self.entries else str(self.level)
        n = self.index
        parts = [f"{n % 1000:03d}"]
        n //= 1000
        while n:
            parts.append(f"x{n % 1000:03d}")
            n //= 1000
        tail = f".p/{self.width}" if self.partial else ""
        return f"tile/{level}/{'/'.join(reversed(parts))}{tail}"


def parse_tile_path(path: str) -> Tile:
    """The tile a path names (``tile/...``, no leading slash), strictly: the level 0 to 63 or
    ``entries`` with no leading zeros, the index in canonical ``x``-prefixed three-digit
    elements (at most 7, a value below 2**63), the width 1 to 255 with no leading zeros.
    Anything else is a MalformedError."""
    if not isinstance(path, str) or not path.isascii() or len(path) > 64:
        raise MalformedError("tile path: not a tile path")
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise MalformedError("tile path: not a tile path")
    level_s, rest = parts[1], parts[2:]
    if level_s == "entries":
        level = ENTRIES_LEVEL
    elif _LEVEL_RE.fullmatch(level_s) and int(level_s) <= MAX_TILE_LEVEL:
        level = int(level_s)
    else:
        raise MalformedError("tile path: level must be 0 to 63 or 'entries'")
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        w = rest[-1]
        if not _WIDTH_RE.fullmatch(w) or int(w) >= TILE_WIDTH:
            raise MalformedError("tile path: partial width must be 1 to 255")
        width = int(w)
        rest = [*rest[:-2], rest[-2][:-2]]
    if not 1 <= len(rest) <= _MAX_SEGMENTS:
        raise MalformedError("tile path: bad index")
    index = 0
    for i, seg in enumerate(rest):
        last = i == len(rest) - 1
        digits = seg if last else seg[1:]
        if (not last and seg[:1] != "x") or len(digits) != 3 or not digits.isdigit():
            raise MalformedError("tile path: bad index element")
        if i == 0 and not last and digits == "000":
            raise MalformedError("tile path: index has a leading zero element")
        index = index * 1000 + int(digits)
    if index >= MAX_SIZE:
        raise MalformedError("tile path: index out of range")
    return Tile(level, index, width)


def _tiles_at(level: int, size: int) -> tuple[int, int]:
    """(number of full tiles, width of the partial one or 0) at ``level`` for ``size``."""
    n = size >> (TILE_HEIGHT * max(level, 0))
    return n >> TILE_HEIGHT, n & (TILE_WIDTH - 1)


def _levels(size: int) -> range:
    top = 0
    while size >> (TILE_HEIGHT * (top + 1)):
        top += 1
    return range(ENTRIES_LEVEL, top + 1) if size else range(0)


def tiles_of(size: int) -> Iterator[Tile]:
    """Every tile and entry bundle of the tree of ``size`` leaves: entry bundles first, then
    each level bottom up, full tiles by index, then the level's partial tile if any. A tree
    of size 256 has one full level-0 tile and bundle and a level-1 tile of width 1."""
    return tiles_added(0, size)


def tiles_added(old: int, new: int) -> Iterator[Tile]:
    """The tiles and entry bundles the tree of ``new`` leaves has and the tree of ``old``
    does not (``0 <= old <= new``), in ``tiles_of`` order: the full tiles completed since,
    and the partial tiles of ``new`` that differ from those of ``old``."""
    if not 0 <= old <= new < MAX_SIZE:
        raise MalformedError("tiles: need 0 <= old <= new < 2**63")
    for level in _levels(new):
        full_old, part_old = _tiles_at(level, old)
        full_new, part_new = _tiles_at(level, new)
        for n in range(full_old, full_new):
            yield Tile(level, n)
        if part_new and (full_new, part_new) != (full_old, part_old):
            yield Tile(level, full_new, part_new)


def tile_nodes(tile: Tile) -> list[int]:
    """The stored node ids (``row << 6 | slot``, see ``node_location``) of a hash tile's
    hashes, left to right: the complete subtrees of height ``8 * level`` with indexes
    ``index * 256`` to ``index * 256 + width - 1``."""
    if tile.entries:
        raise MalformedError("tiles: an entry bundle has no stored hashes")
    h = TILE_HEIGHT * tile.level
    if h > 62:
        raise MalformedError("tiles: no tree that large")
    first = tile.index * TILE_WIDTH
    return [(((k + 1) << h) - 1) << 6 | h for k in range(first, first + tile.width)]


@dataclass(frozen=True, slots=True)
class BlobRef:
    """An entry over 65,535 bytes, named in its bundle by the SHA-256 of its bytes."""

    sha256: bytes

    @property
    def path(self) -> str:
        """Where its bytes are served: ``blob/<lowercase hex SHA-256>``."""
        return blob_path(self.sha256)


def blob_path(digest: bytes) -> str:
    """``blob/<lowercase hex>`` for a 32-byte SHA-256."""
    if len(digest) != HASH_SIZE:
        raise MalformedError("blob: a SHA-256 is 32 bytes")
    return f"blob/{digest.hex()}"


def parse_blob_path(path: str) -> bytes:
    """The SHA-256 a ``blob/<64 lowercase hex digits>`` path names; MalformedError else."""
    if not isinstance(path, str) or not path.startswith("blob/"):
        raise MalformedError("blob path: not a blob path")
    hex_ = path[5:]
    if not _HEX64_RE.fullmatch(hex_):
        raise MalformedError("blob path: need 64 lowercase hex digits")
    return bytes.fromhex(hex_)


def blob_stub(digest: bytes) -> bytes:
    """The 33 bytes an entry over 65,535 bytes is carried as in its bundle."""
    if len(digest) != HASH_SIZE:
        raise MalformedError("blob: a SHA-256 is 32 bytes")
    return bytes([_BLOB_MARK]) + digest


def format_entry_bundle(entries: Sequence[bytes], digests: Sequence[bytes | None]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes, an entry over
    65,535 bytes as the stub of its SHA-256 (``digests[i]``, which the caller computes; it is
    None for an inline entry). At most 256 entries, none empty, none starting with 0xff."""
    if not 1 <= len(entries) <= TILE_WIDTH or len(digests) != len(entries):
        raise MalformedError("entry bundle: 1 to 256 entries")
    out = bytearray()
    for e, d in zip(entries, digests, strict=True):
        if not e or e[0] == _BLOB_MARK:
            raise MalformedError("entry bundle: an entry is empty or starts with 0xff")
        if len(e) <= MAX_INLINE_ENTRY:
            if d is not None:
                raise MalformedError("entry bundle: a small entry is carried inline")
            body = e
        else:
            if d is None:
                raise MalformedError("entry bundle: a large entry needs its SHA-256")
            body = blob_stub(d)
        out += len(body).to_bytes(2, "big")
        out += body
    return bytes(out)


def parse_entry_bundle(data: bytes, width: int) -> list[bytes | BlobRef]:
    """The ``width`` entries of a bundle, each as its bytes or, for a stub, a BlobRef to fetch
    (whose bytes must hash to it and be over 65,535 bytes). Refuses a bundle with another
    number of entries, a truncated one, trailing bytes, an empty entry, and an entry that
    starts with 0xff but is not exactly a 33-byte stub."""
    if not 1 <= width <= TILE_WIDTH:
        raise MalformedError("entry bundle: width must be 1 to 256")
    out: list[bytes | BlobRef] = []
    pos, n = 0, len(data)
    while pos < n:
        if len(out) == width or pos + 2 > n:
            raise MalformedError("entry bundle: trailing bytes")
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if length == 0 or pos + length > n:
            raise MalformedError("entry bundle: empty or truncated entry")
        body = bytes(data[pos : pos + length])
        pos += length
        if body[0] == _BLOB_MARK:
            if length != BLOB_STUB_SIZE:
                raise MalformedError("entry bundle: malformed large-entry stub")
            out.append(BlobRef(body[1:]))
        else:
            out.append(body)
    if len(out) != width:
        raise MalformedError(f"entry bundle: {len(out)} entries, expected {width}")
    return out
