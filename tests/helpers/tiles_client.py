"""An independent C2SP tlog-tiles client, written from the text of https://c2sp.org/tlog-tiles
(and RFC 6962/9162 section 2.1) and SPEC 16's large-entry rule, for the tests only.

It imports nothing from the product: it encodes its own tile paths, decides which tiles a
tree of a checkpoint's size has, fetches them over HTTP (or reads them from a directory),
and computes Merkle Tree Hashes, inclusion and consistency proofs with the RFC's recursive
definitions over those tile hashes. If the server laid out anything differently, the root it
computes would not be the checkpoint's.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

HEIGHT = 8
WIDTH = 256  # "Full tiles MUST be exactly 256 hashes wide"


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def encode_index(n: int) -> str:
    """ "zero-padded 3-digit path elements. All but the last path element MUST begin with an
    x. For example, index 1234067 will be encoded as x001/x234/067"."""
    digits = str(n)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: str | int, n: int, width: int) -> str:
    """tile/<L>/<N>[.p/<W>]: the suffix only for partial tiles (1 to 255)."""
    assert 1 <= width <= WIDTH
    suffix = "" if width == WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(n)}{suffix}"


def width_for(level: int, n: int, size: int) -> int:
    """The width of tile ``n`` at ``level`` in a tree of ``size``: full when its end index
    (n + 1) * 256**(level + 1) is within the tree, else "floor(s / 256**l) mod 256"."""
    if (n + 1) * WIDTH ** (level + 1) <= size:
        return WIDTH
    assert n == size // WIDTH ** (level + 1), "no such tile in this tree"
    w = (size // WIDTH**level) % WIDTH
    assert w > 0, "empty tiles MUST NOT be served"
    return w


class HttpSource:
    """Fetches resources under a URL prefix, asking for gzip (as C2SP says clients should)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/")
        self.fetched: list[str] = []

    def __call__(self, path: str) -> bytes:
        req = urllib.request.Request(
            f"{self.prefix}/{path}", headers={"Accept-Encoding": "gzip, identity"}
        )
        self.fetched.append(path)
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
            if resp.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return body


def dir_source(root: Path) -> Callable[[str], bytes]:
    """Reads the same resources from a directory written for static hosting."""
    return lambda path: (root / path).read_bytes()


class TilesClient:
    """Verifies nothing by itself about signatures: it computes what the tiles say."""

    def __init__(self, fetch: Callable[[str], bytes]) -> None:
        self.fetch = fetch
        self._tiles: dict[tuple[int, int, int], list[bytes]] = {}
        self._mth: dict[tuple[int, int], bytes] = {}

    def checkpoint(self) -> tuple[str, int, bytes, bytes]:
        """(origin, size, root, the note's bytes) from <prefix>/checkpoint."""
        note = self.fetch("checkpoint")
        lines = note.decode("utf-8").split("\n")
        return lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True), note

    def tile(self, level: int, n: int, size: int) -> list[bytes]:
        w = width_for(level, n, size)
        key = (level, n, w)
        if key not in self._tiles:
            data = self.fetch(tile_path(level, n, w))
            assert len(data) == 32 * w, (tile_path(level, n, w), len(data))
            self._tiles[key] = [data[i : i + 32] for i in range(0, len(data), 32)]
        return self._tiles[key]

    def subtree(self, lo: int, h: int, size: int) -> bytes:
        """MTH of the complete subtree of 2**h leaves starting at ``lo``: the tile level
        l = h // 8 holds MTH(D[j * 256**l : (j + 1) * 256**l]) at position j % 256 of tile
        j // 256; the 2**(h % 8) consecutive hashes from j = lo / 256**l hash up pairwise."""
        level, rest = divmod(h, HEIGHT)
        span = WIDTH**level
        assert lo % (span << rest) == 0
        j = lo // span
        row = [self.tile(level, (j + i) // WIDTH, size)[(j + i) % WIDTH] for i in range(1 << rest)]
        while len(row) > 1:
            row = [sha256(b"\x01" + row[i] + row[i + 1]) for i in range(0, len(row), 2)]
        return row[0]

    def mth(self, lo: int, hi: int, size: int) -> bytes:
        """RFC 6962 2.1 MTH(D[lo:hi]): complete aligned ranges come from the tiles, others
        split at the largest power of two smaller than the range's length."""
        key = (lo, hi)
        if key in self._mth:
            return self._mth[key]
        n = hi - lo
        if n == 0:
            out = sha256(b"")
        elif n & (n - 1) == 0 and lo % n == 0:
            out = self.subtree(lo, n.bit_length() - 1, size)
        else:
            k = 1 << ((n - 1).bit_length() - 1)
            out = sha256(b"\x01" + self.mth(lo, lo + k, size) + self.mth(lo + k, hi, size))
        self._mth[key] = out
        return out

    def root(self, size: int) -> bytes:
        return self.mth(0, size, size)

    def inclusion(self, m: int, size: int) -> list[bytes]:
        """RFC 6962 2.1.1 PATH(m, D[0:size])."""

        def path(m: int, lo: int, hi: int) -> list[bytes]:
            n = hi - lo
            if n == 1:
                return []
            k = 1 << ((n - 1).bit_length() - 1)
            if m < k:
                return [*path(m, lo, lo + k), self.mth(lo + k, hi, size)]
            return [*path(m - k, lo + k, hi), self.mth(lo, lo + k, size)]

        return path(m, 0, size)

    def consistency(self, m: int, size: int) -> list[bytes]:
        """RFC 6962 2.1.2 PROOF(m, D[0:size]) = SUBPROOF(m, D[0:size], true)."""

        def sub(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
            n = hi - lo
            if m == n:
                return [] if b else [self.mth(lo, hi, size)]
            k = 1 << ((n - 1).bit_length() - 1)
            if m <= k:
                return [*sub(m, lo, lo + k, b), self.mth(lo + k, hi, size)]
            return [*sub(m - k, lo + k, hi, False), self.mth(lo, lo + k, size)]

        return sub(m, 0, size, True)

    def bundle(self, n: int, size: int) -> list[bytes]:
        """Entry bundle n: "sequences of big-endian uint16 length-prefixed log entries", each
        hashing to the corresponding level-0 tile hash. SPEC 16.2: a 33-byte entry 0xff ||
        SHA-256 stands for a record over 65,535 bytes served at blob/<hex>."""
        w = width_for(0, n, size)
        data = self.fetch(tile_path("entries", n, w))
        out: list[bytes] = []
        pos = 0
        while pos < len(data):
            length = int.from_bytes(data[pos : pos + 2], "big")
            body = data[pos + 2 : pos + 2 + length]
            assert len(body) == length > 0
            pos += 2 + length
            if body[0] == 0xFF:
                assert length == 33
                blob = self.fetch(f"blob/{body[1:].hex()}")
                assert sha256(blob) == body[1:] and len(blob) > 65535
                body = blob
            else:
                assert length <= 65535
            out.append(body)
        assert len(out) == w
        leaves = self.tile(0, n, size)
        assert [sha256(b"\x00" + e) for e in out] == leaves
        return out


def fetch_status(
    url: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, raw body) of a GET, errors included; no decompression. Characters a
    request line cannot hold are percent-encoded (what is already is left as it is)."""
    req = urllib.request.Request(urllib.parse.quote(url, safe="/:%"), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, _lower(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, _lower(e.headers.items()), e.read()


def _lower(items: object) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}  # type: ignore[attr-defined]
