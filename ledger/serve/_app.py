"""The read API of the log as an ASGI application (SPEC 16.3): ``GET /checkpoint``,
``GET /tile/<L>/<N>[.p/<W>]``, ``GET /tile/entries/<N>[.p/<W>]`` and ``GET /blob/<sha256>``.

Every request reads the ledger through a read-only SQLite handle kept per worker thread
(``ledger.store.open_read_only``), so ``lic ledger ...`` keeps appending meanwhile. A
malformed path is a 400 and a resource the latest checkpoint does not cover a 404; no request
can make the application raise (a storage failure is a 503 in plain text, never a traceback).
"""

from __future__ import annotations

import contextlib
import gzip
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keys.errors import LedgerIntegrityError, MalformedError

from ..store import (
    BlobIndex,
    Ledger,
    checkpoint_size,
    open_read_only,
    read_blob,
    read_entry_bundle,
    read_tile,
)
from ..tlog import parse_blob_path, parse_tile_path

__all__ = [
    "CHECKPOINT_CACHE",
    "IMMUTABLE_CACHE",
    "PARTIAL_CACHE",
    "accepts_gzip",
    "make_app",
]

IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
PARTIAL_CACHE = "public, max-age=60"  # same bytes forever, but the log may drop it (C2SP)
CHECKPOINT_CACHE = "public, max-age=5"  # C2SP: no caching beyond a few seconds
_MISS_CACHE = "no-cache"
_TEXT = "text/plain; charset=utf-8"
_BINARY = "application/octet-stream"


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value accepts gzip (``gzip`` or ``*`` with a non-zero
    q-value, unless gzip itself is given ``q=0``)."""
    if not header:
        return False
    found: dict[str, float] = {}
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        found[coding.strip().lower()] = q
    if "gzip" in found:
        return found["gzip"] > 0
    return found.get("*", 0.0) > 0


def _text(status: int, message: str, cache: str = _MISS_CACHE) -> Response:
    return Response(f"{message}\n", status, {"Cache-Control": cache}, media_type=_TEXT)


class _Reader:
    """The application's state: the ledger path, a read-only handle per worker thread, and the
    index of large records shared by all of them."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.blobs = BlobIndex()
        self._local = threading.local()
        self._opened: list[Ledger] = []
        self._lock = threading.Lock()

    def ledger(self) -> Ledger:
        led: Ledger | None = getattr(self._local, "ledger", None)
        if led is None:
            try:
                led = open_read_only(self.db)
            except MalformedError as e:  # the file went away or changed under the server
                raise _Unavailable from e
            self._local.ledger = led
            with self._lock:
                self._opened.append(led)
        return led

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for led in opened:
            led.close()


class _Unavailable(Exception):
    """The ledger file cannot be opened now (a 503, not the client's fault)."""


def _guarded(fn: Callable[[_Reader, Request], Response]) -> Callable[[Request], Response]:
    """An endpoint that answers every failure in plain text: 400 for a malformed request,
    503 when storage is busy or unreadable, 500 (with no detail) for a store that fails its
    own checks."""

    def endpoint(request: Request) -> Response:
        reader: _Reader = request.app.state.reader
        try:
            return fn(reader, request)
        except MalformedError as e:
            return _text(400, str(e))
        except (sqlite3.Error, _Unavailable):
            return _text(503, "ledger storage unavailable; retry")
        except LedgerIntegrityError:
            return _text(500, "ledger store failed an integrity check")

    return endpoint


def _checkpoint(reader: _Reader, request: Request) -> Response:
    signed = reader.ledger().cosigned_checkpoint()
    if signed is None:
        return _text(404, "no checkpoint yet")
    return Response(signed.note, 200, {"Cache-Control": CHECKPOINT_CACHE}, media_type=_TEXT)


def _binary(data: bytes, cache: str, request: Request, *, compress: bool) -> Response:
    headers = {"Cache-Control": cache}
    if compress:
        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(request.headers.get("accept-encoding")):
            data = gzip.compress(data, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
    return Response(data, 200, headers, media_type=_BINARY)


def _tile(reader: _Reader, request: Request) -> Response:
    tile = parse_tile_path("tile/" + request.path_params["rest"])
    led = reader.ledger()
    size = checkpoint_size(led)
    read = read_entry_bundle if tile.entries else read_tile
    data = read(led, tile, size)
    if data is None:
        return _text(404, f"{tile.path} is beyond the latest checkpoint (size {size})")
    cache = PARTIAL_CACHE if tile.partial else IMMUTABLE_CACHE
    return _binary(data, cache, request, compress=tile.entries)


def _blob(reader: _Reader, request: Request) -> Response:
    digest = parse_blob_path("blob/" + request.path_params["rest"])
    led = reader.ledger()
    data = read_blob(led, digest, checkpoint_size(led), reader.blobs)
    if data is None:
        return _text(404, "no record over 65535 bytes with that SHA-256")
    return _binary(data, IMMUTABLE_CACHE, request, compress=True)


def make_app(db: str | Path) -> Starlette:
    """The read API over the ledger file ``db`` (checked to open before this returns)."""
    path = Path(db)
    open_read_only(path).close()  # refuse a missing file or another format now
    reader = _Reader(path)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            reader.close()

    app = Starlette(
        routes=[
            Route("/checkpoint", _guarded(_checkpoint), methods=["GET"]),
            Route("/tile/{rest:path}", _guarded(_tile), methods=["GET"]),
            Route("/blob/{rest:path}", _guarded(_blob), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # one path per resource: no 307 to a slash variant
    app.state.reader = reader
    return app
