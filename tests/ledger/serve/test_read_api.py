"""The read API over HTTP, read by the independent client of tests/helpers/tiles_client.py:
its root is the checkpoint's, its proofs are the naive RFC 9162 reference's and the store's,
its entry bundles (a record over 65,535 bytes included) hash to the level-0 tiles; headers
keep their cache promises; every malformed path is a 4xx, never a 500."""

from __future__ import annotations

import gzip
import random

from helpers.merkle_reference import mth, path, proof
from helpers.serve_world import AUTHOR, LARGE_AT, LOG, Running, entries, make_small
from helpers.tiles_client import HttpSource, TilesClient, fetch_status, tile_path
from ledger.entries import sign_entry
from ledger.serve import CHECKPOINT_CACHE, IMMUTABLE_CACHE, PARTIAL_CACHE, accepts_gzip
from ledger.tlog import open_checkpoint


def records(led, size):
    return [raw for _, raw in led.iter_records(0, size)]


def test_root_and_proofs_equal_the_reference_and_the_store(small):
    led, run = small
    client = TilesClient(HttpSource(run.url))
    origin, size, root, note = client.checkpoint()
    assert (origin, size) == (led.origin, 321)
    assert note == led.cosigned_checkpoint().note
    open_checkpoint(note, led.log_verifier)
    leaves = records(led, size)
    assert client.root(size) == root == mth(leaves) == led.root(size)
    rng = random.Random(16)
    for m in sorted(
        {0, 1, 5, 254, 255, 256, 257, 299, LARGE_AT, size - 1, *rng.sample(range(size), 8)}
    ):
        assert client.inclusion(m, size) == path(m, leaves) == led.inclusion_proof(m, size), m
    for m in sorted({1, 2, 5, 255, 256, 257, 300, size - 1, size, *rng.sample(range(1, size), 6)}):
        assert client.consistency(m, size) == proof(m, leaves) == led.consistency_proof(m, size), m


def test_every_earlier_checkpoint_is_readable_from_the_tiles(small):
    """A client holding an older checkpoint fetches the partial tiles of its size: they stay
    served, and its root is that checkpoint's."""
    led, run = small
    sizes = []
    for cp in led.checkpoints():
        size = cp.checkpoint.size
        sizes.append(size)
        if size == 0:
            continue
        client = TilesClient(HttpSource(run.url))
        assert client.root(size) == cp.checkpoint.root == mth(records(led, size)), size
        assert client.inclusion(size - 1, size) == led.inclusion_proof(size - 1, size)
    assert sizes == [0, 5, 256, 300, 301, 321]


def test_bundles_and_the_large_record_round_trip(small):
    led, run = small
    source = HttpSource(run.url)
    client = TilesClient(source)
    size = client.checkpoint()[1]
    got = [e for n in range(2) for e in client.bundle(n, size)]
    assert got == records(led, size)
    assert len(got[LARGE_AT]) > 65_535
    assert any(p.startswith("blob/") for p in source.fetched)
    assert "tile/entries/001.p/65" in source.fetched and "tile/0/001.p/65" in source.fetched


def test_level_one_tiles(small):
    led, run = small
    leaves = records(led, 321)
    status, _, body = fetch_status(f"{run.url}/tile/1/000.p/1")
    assert status == 200 and body == mth(leaves[:256])
    for bad in ("tile/1/000", "tile/1/000.p/2", "tile/2/000.p/1"):
        assert fetch_status(f"{run.url}/{bad}")[0] == 404, bad


def test_the_big_tree_has_full_level_one_and_partial_level_two_tiles(big):
    led, run = big
    source = HttpSource(run.url)
    client = TilesClient(source)
    _, size, root, _ = client.checkpoint()
    assert size == 65_536 + 700
    assert client.root(size) == root == led.root(size)
    for m in (0, 65_535, 65_536, size - 1):
        assert client.inclusion(m, size) == led.inclusion_proof(m, size)
    for m in (1, 256 * 3 + 1, 65_536, 65_537, size - 1):
        assert client.consistency(m, size) == led.consistency_proof(m, size)
    assert {"tile/1/000", "tile/2/000.p/1"} <= set(source.fetched)
    assert fetch_status(f"{run.url}/tile/1/001.p/2")[0] == 200
    assert fetch_status(f"{run.url}/tile/1/001.p/3")[0] == 404
    leaves = records(led, 65_536 + 256)
    assert client.tile(1, 0, size)[255] == mth(leaves[255 * 256 : 256 * 256])
    assert client.bundle(256, size) == leaves[65_536:]


def test_cache_headers_and_gzip(small):
    _, run = small
    status, h, _ = fetch_status(f"{run.url}/checkpoint")
    assert status == 200
    assert h["cache-control"] == CHECKPOINT_CACHE
    assert h["content-type"] == "text/plain; charset=utf-8"
    status, h, body = fetch_status(f"{run.url}/tile/0/000")
    assert (status, h["cache-control"], len(body)) == (200, IMMUTABLE_CACHE, 8192)
    assert h["content-type"] == "application/octet-stream"
    status, h, _ = fetch_status(f"{run.url}/tile/0/001.p/65")
    assert status == 200 and h["cache-control"] == PARTIAL_CACHE
    assert "immutable" not in h["cache-control"]
    plain = fetch_status(f"{run.url}/tile/entries/000")
    assert "content-encoding" not in plain[1] and plain[1]["vary"] == "Accept-Encoding"
    for accept in ("gzip", "gzip, identity", "br;q=1, gzip;q=0.5", "*"):
        status, h, body = fetch_status(f"{run.url}/tile/entries/000", {"Accept-Encoding": accept})
        assert h["content-encoding"] == "gzip" and gzip.decompress(body) == plain[2], accept
        assert h["cache-control"] == IMMUTABLE_CACHE
    for accept in ("identity", "gzip;q=0", "br", "*;q=0", "gzip;q=0, *"):
        _, h, body = fetch_status(f"{run.url}/tile/entries/000", {"Accept-Encoding": accept})
        assert "content-encoding" not in h and body == plain[2], accept


def test_accepts_gzip():
    assert accepts_gzip("gzip") and accepts_gzip("deflate, GZIP;q=0.1") and accepts_gzip("*")
    for v in (None, "", "identity", "gzip;q=0", "gzip;q=0.0, *", "gzip;q=x", "*;q=0"):
        assert not accepts_gzip(v), v


MALFORMED = [
    "tile/00/000",  # leading zero in the level
    "tile/64/000",  # level above 63
    "tile/-1/000",
    "tile/a/000",
    "tile/0/00",  # index elements are three digits
    "tile/0/0000",
    "tile/0/x000/001",  # a leading zero element
    "tile/0/001/002",  # all but the last element start with x
    "tile/0/x001/x002",  # the last does not
    "tile/0/x1000/000",
    "tile/0/000.p/0",  # widths 1 to 255
    "tile/0/000.p/256",
    "tile/0/000.p/300",
    "tile/0/000.p/01",
    "tile/0/000.p/",
    "tile/0/000.p",
    "tile/0/000.p/1/2",
    "tile/0/000.q/5",
    "tile/0/x001/x002/x003/x004/x005/x006/x007/008",  # too long
    "tile/0/x999/x999/x999/x999/x999/x999/999",  # beyond 2**63
    "tile/0/abc",
    "tile/0/0a0",
    "tile/0/",
    "tile/0",
    "tile/",
    "tile/0/000/",
    "tile/0//000",
    "tile/entries/00",
    "tile/entries/000.p/256",
    "tile/entries",
    "tile/0/٠٠٠",  # non-ASCII digits
    "tile/0/%2B00",
    "tile/0/+00",
    "tile/0/ 00",
    "blob/abc",
    "blob/" + "A" * 64,
    "blob/" + "a" * 63,
    "blob/" + "a" * 65,
    "blob/" + "g" * 64,
    "blob/",
]


def test_every_malformed_path_is_a_400(small):
    _, run = small
    for p in MALFORMED:
        status, h, body = fetch_status(f"{run.url}/{p}")
        assert status == 400, (p, status, body)
        assert h["content-type"] == "text/plain; charset=utf-8" and b"Traceback" not in body


def test_mutated_paths_never_fail_the_server(small):
    _, run = small
    base = "tile/0/x001/x234/067.p/5"
    rng = random.Random(7)
    tried = 0
    for i in range(len(base)):
        for c in rng.sample("0123456789x./pa-", 4):
            p = base[:i] + c + base[i + 1 :]
            status, _, body = fetch_status(f"{run.url}/{p}")
            assert status in (400, 404), (p, status)
            assert b"Traceback" not in body
            tried += 1
        status, _, _ = fetch_status(f"{run.url}/{base[:i] + base[i + 1 :]}")
        assert status in (400, 404)
    assert tried > 50
    assert fetch_status(f"{run.url}/{base}")[0] == 404  # well formed, beyond the tree


def test_other_paths_and_methods(small):
    _, run = small
    assert fetch_status(f"{run.url}/")[0] == 404
    assert fetch_status(f"{run.url}/tiles/0/000")[0] == 404
    for p in ("checkpoint/", "tile", "blob", "tile/0/000/"):
        assert fetch_status(f"{run.url}/{p}")[0] in (400, 404), p
    assert fetch_status(f"{run.url}/blob/{'0' * 64}")[0] == 404
    import urllib.request

    for method in ("POST", "PUT", "DELETE"):
        req = urllib.request.Request(f"{run.url}/checkpoint", data=b"x", method=method)
        try:
            urllib.request.urlopen(req, timeout=10)
            status = 200
        except urllib.error.HTTPError as e:
            status = e.code
        assert status == 405, method
    req = urllib.request.Request(f"{run.url}/tile/0/000", method="HEAD")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200 and resp.read() == b""


def test_a_small_record_is_no_blob(small):
    led, run = small
    import hashlib

    small_digest = hashlib.sha256(led.record_bytes(3)).hexdigest()
    assert fetch_status(f"{run.url}/blob/{small_digest}")[0] == 404
    large = hashlib.sha256(led.record_bytes(LARGE_AT)).hexdigest()
    status, h, body = fetch_status(f"{run.url}/blob/{large}")
    assert status == 200 and body == led.record_bytes(LARGE_AT)
    assert h["cache-control"] == IMMUTABLE_CACHE


def test_appends_meanwhile_are_served_only_once_checkpointed(ledger_at):
    led = make_small(ledger_at())
    run = Running(led.location)
    try:
        client = TilesClient(HttpSource(run.url))
        assert client.checkpoint()[1] == 321
        led.append_batch(entries(321, 300))  # no checkpoint: nothing new is published
        assert fetch_status(f"{run.url}/{tile_path(0, 1, 256)}")[0] == 404
        assert fetch_status(f"{run.url}/{tile_path('entries', 2, 109)}")[0] == 404
        assert client.checkpoint()[1] == 321
        led.append("test", sign_entry("test", b"last", AUTHOR), log_key=LOG)
        fresh = TilesClient(HttpSource(run.url))
        _, size, root, _ = fresh.checkpoint()
        assert size == 622 and fresh.root(size) == root == led.root(size)
        assert fresh.consistency(321, size) == led.consistency_proof(321, size)
        # an older checkpoint's partial tiles stay available
        assert fetch_status(f"{run.url}/{tile_path(0, 1, 65)}")[0] == 200
    finally:
        run.stop()
        led.close()
