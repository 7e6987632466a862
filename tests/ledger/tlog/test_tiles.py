"""C2SP tlog-tiles, pure: paths (the spec's examples, round trips, every malformed kind and
systematic mutations), which tiles a tree has (the spec's size-70,000 example, incremental
growth as a set difference), where tile hashes are stored, and entry bundles with the
large-entry rule of SPEC 16.2."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.merkle_reference import mth
from keys import MalformedError
from ledger.tlog import (
    BLOB_STUB_SIZE,
    ENTRIES_LEVEL,
    MAX_INLINE_ENTRY,
    BlobRef,
    Frontier,
    Tile,
    blob_path,
    blob_stub,
    format_entry_bundle,
    node_hash_at,
    node_location,
    parse_blob_path,
    parse_entry_bundle,
    parse_tile_path,
    tile_nodes,
    tiles_added,
    tiles_of,
)

# -- paths ---------------------------------------------------------------------------------


def test_the_spec_examples():
    assert Tile(0, 1234067).path == "tile/0/x001/x234/067"
    assert Tile(ENTRIES_LEVEL, 1234067, 8).path == "tile/entries/x001/x234/067.p/8"
    assert Tile(3, 0, 1).path == "tile/3/000.p/1"
    assert Tile(0, 1000).path == "tile/0/x001/000"
    assert Tile(0, 999).path == "tile/0/999"
    assert Tile(63, (1 << 63) - 1).path == "tile/63/x009/x223/x372/x036/x854/x775/807"
    assert parse_tile_path("tile/0/x001/x234/067.p/5") == Tile(0, 1234067, 5)
    assert parse_tile_path("tile/entries/000") == Tile(-1, 0, 256)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(ENTRIES_LEVEL, 63),
    st.one_of(st.integers(0, 2000), st.integers(0, (1 << 63) - 1)),
    st.integers(1, 256),
)
def test_paths_round_trip(level, index, width):
    t = Tile(level, index, width)
    assert parse_tile_path(t.path) == t
    assert t.partial == (width < 256) and t.path.endswith(f".p/{width}") == t.partial


MALFORMED = [
    "tile/00/000",
    "tile/64/000",
    "tile/-1/000",
    "tile/1e1/000",
    "tile/0/00",
    "tile/0/0000",
    "tile/0/x000/001",
    "tile/0/001/002",
    "tile/0/x001/x002",
    "tile/0/X001/002",
    "tile/0/xx01/002",
    "tile/0/000.p/0",
    "tile/0/000.p/256",
    "tile/0/000.p/01",
    "tile/0/000.p/",
    "tile/0/000.p",
    "tile/0/000.p/1/2",
    "tile/0/x001/x002/x003/x004/x005/x006/x007/008",
    "tile/0/x009/x223/x372/x036/x854/x775/808",  # 2**63
    "tile/0/0a0",
    "tile/0/٠٠٠",
    "tile/0/+00",
    "tile/0/ 00",
    "tile/0/",
    "tile/0",
    "tile",
    "",
    "/tile/0/000",
    "tile/0/000/",
    "tiles/0/000",
    "tile/entries/00",
    "tile/Entries/000",
    "tile/0/" + "x001/" * 20 + "000",
]


@pytest.mark.parametrize("path", MALFORMED)
def test_malformed_paths_are_refused(path):
    with pytest.raises(MalformedError):
        parse_tile_path(path)


def test_every_single_byte_change_of_a_path_is_refused_or_another_tile():
    base = "tile/0/x001/x234/067.p/5"
    for i in range(len(base)):
        for c in "0123456789x./p-a":
            p = base[:i] + c + base[i + 1 :]
            try:
                t = parse_tile_path(p)
            except MalformedError:
                continue
            assert t.path == p  # whatever parses is canonical: one path per tile
        try:
            t = parse_tile_path(base[:i] + base[i + 1 :])
        except MalformedError:
            continue
        assert t.path == base[:i] + base[i + 1 :]


def test_tile_fields_are_checked():
    for args in ((-2, 0, 1), (64, 0, 1), (0, -1, 1), (0, 1 << 63, 1), (0, 0, 0), (0, 0, 257)):
        with pytest.raises(MalformedError):
            Tile(*args)
    with pytest.raises(MalformedError):
        Tile(True, 0, 1)  # type: ignore[arg-type]


def test_blob_paths():
    d = hashlib.sha256(b"x").digest()
    assert parse_blob_path(blob_path(d)) == d == BlobRef(d).sha256
    assert BlobRef(d).path == f"blob/{d.hex()}"
    for bad in ("blob/" + d.hex().upper(), "blob/" + d.hex()[:-1], "blob/" + d.hex() + "0", "x"):
        with pytest.raises(MalformedError):
            parse_blob_path(bad)
    with pytest.raises(MalformedError):
        blob_path(b"short")


# -- which tiles a tree has ----------------------------------------------------------------


def test_the_spec_size_70000_example():
    ts = [t for t in tiles_of(70_000) if not t.entries]
    level0 = [t for t in ts if t.level == 0]
    assert len([t for t in level0 if not t.partial]) == 273
    assert [t.width for t in level0 if t.partial] == [112]
    assert [(t.level, t.index, t.width) for t in ts if t.level > 0] == [
        (1, 0, 256),
        (1, 1, 17),
        (2, 0, 1),
    ]
    bundles = [t for t in tiles_of(70_000) if t.entries]
    assert [(t.index, t.width) for t in bundles] == [(t.index, t.width) for t in level0]


def test_a_tree_of_256():
    assert [t.path for t in tiles_of(256)] == ["tile/entries/000", "tile/0/000", "tile/1/000.p/1"]
    assert list(tiles_of(0)) == []


def _reference_tiles(size: int) -> set[Tile]:
    """Straight from C2SP: level l has floor(s / 256**(l+1)) full tiles and a partial one of
    width floor(s / 256**l) mod 256 when that is not 0; bundles as level 0."""
    out = set()
    level = 0
    while size >= 256**level and size:
        full, part = size // 256 ** (level + 1), (size // 256**level) % 256
        for lv in [level, -1] if level == 0 else [level]:
            out |= {Tile(lv, n) for n in range(full)}
            if part:
                out.add(Tile(lv, full, part))
        level += 1
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300_000), st.integers(0, 300_000))
def test_tiles_added_is_the_set_difference(a, b):
    old, new = min(a, b), max(a, b)
    assert set(tiles_of(new)) == _reference_tiles(new)
    added = list(tiles_added(old, new))
    assert len(added) == len(set(added))
    assert set(added) == _reference_tiles(new) - _reference_tiles(old)
    assert all(t.end <= new for t in added)


def test_tiles_added_refuses_shrinking():
    with pytest.raises(MalformedError):
        list(tiles_added(5, 4))


# -- where a tile's hashes are stored ------------------------------------------------------


def test_tile_nodes_name_the_stored_subtrees():
    leaves = [hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest() for i in range(256 * 3 + 7)]
    fr = Frontier(0, [])
    rows = dict(enumerate(fr.extend(leaves)))
    records = [i.to_bytes(4, "big") for i in range(len(leaves))]
    t1 = Tile(1, 0, 3)
    got = [node_hash_at(rows, n) for n in tile_nodes(t1)]
    assert got == [mth(records[k * 256 : (k + 1) * 256]) for k in range(3)]
    assert tile_nodes(Tile(0, 2, 7)) == [node_location(0, 512 + i) for i in range(7)]
    assert tile_nodes(Tile(2, 0, 1)) == [node_location(16, 0)]
    with pytest.raises(MalformedError):
        tile_nodes(Tile(ENTRIES_LEVEL, 0))
    with pytest.raises(MalformedError):
        tile_nodes(Tile(8, 0))


# -- entry bundles -------------------------------------------------------------------------


def _bundle(entries):
    return format_entry_bundle(
        entries,
        [hashlib.sha256(e).digest() if len(e) > MAX_INLINE_ENTRY else None for e in entries],
    )


def test_bundle_layout_is_uint16_length_prefixed():
    assert _bundle([b"\xa6ab", b"\xa6"]) == b"\x00\x03\xa6ab\x00\x01\xa6"
    assert parse_entry_bundle(b"\x00\x03\xa6ab\x00\x01\xa6", 2) == [b"\xa6ab", b"\xa6"]


def test_the_large_entry_rule_at_its_boundary():
    at = b"\xa6" + bytes(MAX_INLINE_ENTRY - 1)
    over = at + b"\x00"
    data = _bundle([at, over])
    assert data[:2] == b"\xff\xff" and data[2 : 2 + len(at)] == at
    stub = data[2 + len(at) :]
    assert stub == b"\x00\x21" + blob_stub(hashlib.sha256(over).digest())
    assert len(stub) == 2 + BLOB_STUB_SIZE
    assert parse_entry_bundle(data, 2) == [at, BlobRef(hashlib.sha256(over).digest())]
    # one rule, both ways: a small entry is never a stub, a large one always
    with pytest.raises(MalformedError):
        format_entry_bundle([at], [hashlib.sha256(at).digest()])
    with pytest.raises(MalformedError):
        format_entry_bundle([over], [None])
    for bad in ([b""], [b"\xff" + bytes(32)], []):
        with pytest.raises(MalformedError):
            format_entry_bundle(bad, [None] * len(bad))
    with pytest.raises(MalformedError):
        format_entry_bundle([b"\xa6"] * 257, [None] * 257)


def test_every_truncation_and_extension_of_a_bundle_is_refused():
    data = _bundle([b"\xa6one", b"\xa6" + bytes(70_000), b"\xa6three"])
    assert len(parse_entry_bundle(data, 3)) == 3
    for cut in range(len(data)):
        with pytest.raises(MalformedError):
            parse_entry_bundle(data[:cut], 3)
    for extra in (b"\x00", b"\x00\x00", b"\x00\x01\xa6"):
        with pytest.raises(MalformedError):
            parse_entry_bundle(data + extra, 3)
    for width in (2, 4, 0, 257):
        with pytest.raises(MalformedError):
            parse_entry_bundle(data, width)


def test_stub_mutations_are_refused():
    for body in (b"\xff", b"\xff" + bytes(31), b"\xff" + bytes(33)):
        with pytest.raises(MalformedError):
            parse_entry_bundle(len(body).to_bytes(2, "big") + body, 1)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.binary(min_size=0, max_size=40).map(lambda b: b"\xa6" + b), min_size=1, max_size=256
    )
)
def test_bundles_round_trip(entries):
    assert parse_entry_bundle(_bundle(entries), len(entries)) == entries
