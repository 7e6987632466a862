"""The follower's TileReader computes roots, consistency and inclusion proofs from tiles
alone: they equal the store's (which the tests check against the naive RFC 9162 reference
elsewhere) for sizes across tile edges and levels; a tile of the wrong length, or one the log
does not serve, is refused. And the follower follows a static copy (`lic ledger tiles`). The
ledgers the tiles come from live on each backend (a SQLite file, a PostgreSQL schema)."""

from __future__ import annotations

import hashlib
import random

import pytest

from helpers import bundle_scenario as bs
from helpers.backends import BACKENDS, location
from helpers.serve_world import AUTHOR, LOG, ORIGIN
from keys import LedgerIntegrityError
from ledger.entries import ZERO_HASH, RecordEncoder, sign_entry
from ledger.follow import TileReader, UnreachableError, follow_log
from ledger.store import Ledger, read_tile, write_tiles
from ledger.tlog import parse_tile_path

N = 1_300  # five full level-0 tiles, a partial one, a partial level-1 tile


@pytest.fixture(scope="module", params=BACKENDS)
def led(request):
    led = Ledger.create(location(request, "tiles"), ORIGIN, LOG)
    entry = sign_entry("test", b"payload", AUTHOR)
    enc = RecordEncoder(1_767_225_600)
    prev, raws = ZERO_HASH, []
    for i in range(N):
        raws.append(enc.encode(i, prev, "test", entry))
        prev = hashlib.sha256(b"\x00" + raws[-1]).digest()
    led.append_encoded(raws)
    yield led
    led.close()


def _fetch(led, asked=None):
    def fetch(path: str, cap: int) -> bytes | None:
        if asked is not None:
            asked.append(path)
        data = read_tile(led, parse_tile_path(path), led.size)
        assert data is None or len(data) <= cap
        return data

    return fetch


def test_roots_and_proofs_from_tiles_equal_the_stores(led):
    rng = random.Random(7)
    sizes = {1, 2, 255, 256, 257, 511, 512, 1024, 1280, 1299, N} | {
        rng.randrange(1, N + 1) for _ in range(25)
    }
    for n in sorted(sizes):
        reader = TileReader(_fetch(led), n)
        assert reader.root() == led.root(n), n
        for m in {1, n // 2 or 1, n, rng.randrange(1, n + 1)}:
            assert reader.consistency(m) == led.consistency_proof(m, n), (m, n)
        for i in {0, n - 1, rng.randrange(n)}:
            assert reader.inclusion(i) == led.inclusion_proof(i, n), (i, n)


def test_each_tile_is_fetched_once_and_checked(led):
    asked: list[str] = []
    reader = TileReader(_fetch(led, asked), N)
    reader.root()
    reader.consistency(700)
    assert len(asked) == len(set(asked))
    short = TileReader(lambda path, cap: b"\x00" * 31, N)
    with pytest.raises(LedgerIntegrityError):
        short.root()
    missing = TileReader(lambda path, cap: None, N)
    with pytest.raises(UnreachableError, match="does not serve"):
        missing.root()


def test_following_a_static_copy(tmp_path, ledger_at):
    s = bs.build(ledger_at("log"), links=3)
    s.revoke(s.tokens[2])
    s.checkpoint(bs.T0 + 100)
    out = tmp_path / "static"
    write_tiles(s.led, out)

    def fetch(path: str, cap: int) -> bytes | None:
        p = out / path
        return p.read_bytes() if p.is_file() else None

    vkey = bs.LOG.public_key.verifier_key(bs.ORIGIN)
    r = follow_log("http://static.invalid", tmp_path / "f", now=0, log_vkey=vkey, fetch=fetch)
    assert (r.status, r.size, r.records, r.revoked) == ("advanced", 5, 5, 1)
    s.led.close()


def test_the_client_takes_gzip_and_refuses_a_bomb(tmp_path):
    import gzip
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ledger.follow import HttpLog

    bodies = {"/small": gzip.compress(b"x" * 100), "/bomb": gzip.compress(b"\0" * 10**6),
              "/two": gzip.compress(b"a") + gzip.compress(b"b")}  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = bodies[self.path]
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = HttpLog(f"http://127.0.0.1:{server.server_address[1]}")
        assert client("small", 1000) == b"x" * 100
        with pytest.raises(UnreachableError, match="at most 1000 bytes"):
            client("bomb", 1000)
        with pytest.raises(UnreachableError, match="one stream"):
            client("two", 1000)
        assert client.fetched == ["small", "bomb", "two"]
    finally:
        server.shutdown()
        server.server_close()
