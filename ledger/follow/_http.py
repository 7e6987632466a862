"""The follower's HTTP edge: GET a log's C2SP tlog-tiles resources with a timeout and a size
cap per kind of resource, counting what it fetched. Network trouble (no answer, a 5xx, a
truncated body) is an ``UnreachableError`` (exit 3: nothing can be concluded, retry); a 404
is ``None`` for the caller to judge (a resource the log does not serve yet)."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable

from keys.errors import LicError, MalformedError

from ..tlog import MAX_INLINE_ENTRY, MAX_NOTE_SIZE, TILE_WIDTH

__all__ = ["DEFAULT_TIMEOUT", "Fetch", "HttpLog", "UnreachableError", "log_base_url"]

DEFAULT_TIMEOUT = 20.0  # seconds for the connection and for each read
MAX_CHECKPOINT = MAX_NOTE_SIZE  # the note with its cosignature lines (SPEC 8.1)
MAX_TILE = TILE_WIDTH * 32
MAX_BUNDLE = TILE_WIDTH * (2 + MAX_INLINE_ENTRY)
MAX_BLOB = 1024 * 1024 + 1024  # a record is at most 1 MiB + 1 KiB (SPEC 6.1)

Fetch = Callable[[str, int], bytes | None]
"""fetch(path, cap): the bytes at ``<base>/<path>``, None for a 404."""


class UnreachableError(LicError):
    """The log could not be read now (no answer, a server error, a truncated or oversized
    answer): nothing was concluded and nothing was changed; retry later."""

    exit_code = 3


def log_base_url(url: str) -> str:
    """``url`` without its trailing slash, refused unless it is http(s)://HOST[:PORT][/PREFIX]."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise MalformedError(f"log URL {url!r} is not http(s)://HOST[:PORT][/PREFIX]")
    return url.rstrip("/")


def _gunzip(data: bytes, cap: int, where: str) -> bytes:
    """A gzip body decompressed to at most ``cap`` bytes (a bomb is refused, not expanded)."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, cap + 1)
    except zlib.error as e:
        raise UnreachableError(f"{where}: the gzip body does not decompress: {e}") from None
    if len(out) > cap or not d.eof or d.unused_data:
        raise UnreachableError(f"{where}: the gzip body is not one stream of at most {cap} bytes")
    return out


class HttpLog:
    """GETs under one log URL. ``fetched`` lists every path asked for, in order."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base = log_base_url(url)
        self.timeout = timeout
        self.fetched: list[str] = []

    def __call__(self, path: str, cap: int) -> bytes | None:
        """The body at ``path`` (at most ``cap`` bytes), or None when the log answers 404."""
        self.fetched.append(path)
        where = f"{self.base}/{path}"
        req = urllib.request.Request(where, headers={"Accept-Encoding": "gzip"})  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                data: bytes = resp.read(cap + 1)
                encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
            if encoding == "gzip":  # C2SP: a log may send gzip, asked or not
                data = _gunzip(data, cap, where)
            elif encoding != "identity":
                raise UnreachableError(f"{where}: unknown Content-Encoding {encoding!r}")
        except urllib.error.HTTPError as e:
            with e:
                if e.code == 404:
                    return None
                detail = e.read(300).decode("utf-8", "replace").strip().splitlines()
            first = detail[0] if detail else ""
            raise UnreachableError(f"{where}: the log answered {e.code} {first}".rstrip()) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            raise UnreachableError(f"{where}: cannot read the log: {reason}") from None
        if len(data) > cap:
            raise UnreachableError(f"{where}: the answer is larger than {cap} bytes")
        return data
