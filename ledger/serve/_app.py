"""The log as an ASGI application: the read API (SPEC 16.3: ``GET /checkpoint``,
``GET /tile/<L>/<N>[.p/<W>]``, ``GET /tile/entries/<N>[.p/<W>]``, ``GET /blob/<sha256>``),
receipts and token status (``GET /entries/<index>/receipt``, ``GET /status/<digest>``) and,
with a log key, submissions (``POST /entries``, SPEC 16.5, see ``_write``).

Every request reads the ledger through a read-only handle (``ledger.store.open_read_only``:
a SQLite file opened ``mode=ro``, or a read-only PostgreSQL connection) taken from a small
pool, so ``lic ledger ...``, or other servers on the same PostgreSQL ledger, keep appending
meanwhile. Nothing the log may change is cached across requests: each reads the latest
checkpoint afresh, and what is cached (tree hashes, the index of large records) is immutable
once written. A malformed path is a 400 and a resource the latest checkpoint does not cover
a 404; no request can make the application raise (a storage failure is a 503 in plain text,
never a traceback, and the handle that failed is closed, not reused).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

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
from ._sequencer import Sequencer, WriteOptions
from ._status import StatusView
from ._storage import Location, location_of, storage_errors
from ._write import parse_index, post_entries

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


_FILE_READERS = 64  # more than the worker threads: a file's handles never run short
_PG_READERS = 8  # server connections per `lic serve`; requests are short and take turns
_READER_WAIT_S = 10.0


class _Reader:
    """The application's state: the ledger's location, a pool of read-only handles lent to
    one request at a time, and the index of large records shared by all of them."""

    def __init__(self, db: Location) -> None:
        self.db = db
        self.blobs = BlobIndex()
        self._idle: list[Ledger] = []
        self._open = 0  # handles open: idle and lent
        self._max = _FILE_READERS if isinstance(db, os.PathLike) else _PG_READERS
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def ledger(self) -> Iterator[Ledger]:
        """A handle for the time of one request; one that failed in storage is closed (a
        PostgreSQL connection that broke is never lent again)."""
        led = self._take()
        try:
            yield led
        except storage_errors():
            self._drop(led)
            raise
        except BaseException:
            self._give_back(led)
            raise
        self._give_back(led)

    def _take(self) -> Ledger:
        with self._cond:
            if not self._cond.wait_for(lambda: self._idle or self._open < self._max,
                                       _READER_WAIT_S):  # fmt: skip
                raise _Unavailable
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return open_read_only(self.db)
        except BaseException as e:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            if isinstance(e, (MalformedError, *storage_errors())):
                raise _Unavailable from e  # the store went away or changed under the server
            raise

    def _give_back(self, led: Ledger) -> None:
        with self._cond:
            self._idle.append(led)
            self._cond.notify()

    def _drop(self, led: Ledger) -> None:
        with contextlib.suppress(Exception):
            led.close()
        with self._cond:
            self._open -= 1
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for led in idle:
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
        except _Unavailable:
            return _text(503, "ledger storage unavailable; retry")
        except storage_errors():
            return _text(503, "ledger storage unavailable; retry")
        except LedgerIntegrityError:
            return _text(500, "ledger store failed an integrity check")

    return endpoint


def _checkpoint(reader: _Reader, request: Request) -> Response:
    with reader.ledger() as led:
        signed = led.cosigned_checkpoint()
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
    read = read_entry_bundle if tile.entries else read_tile
    with reader.ledger() as led:
        size = checkpoint_size(led)
        data = read(led, tile, size)
    if data is None:
        return _text(404, f"{tile.path} is beyond the latest checkpoint (size {size})")
    cache = PARTIAL_CACHE if tile.partial else IMMUTABLE_CACHE
    return _binary(data, cache, request, compress=tile.entries)


def _blob(reader: _Reader, request: Request) -> Response:
    digest = parse_blob_path("blob/" + request.path_params["rest"])
    with reader.ledger() as led:
        data = read_blob(led, digest, checkpoint_size(led), reader.blobs)
    if data is None:
        return _text(404, "no record over 65535 bytes with that SHA-256")
    return _binary(data, IMMUTABLE_CACHE, request, compress=True)


def _receipt(reader: _Reader, request: Request) -> Response:
    index = parse_index(request.path_params["index"])
    with reader.ledger() as led:
        cp = led.cosigned_checkpoint()
        if cp is None or index >= cp.checkpoint.size:
            return _text(404, f"record {index} is not covered by a checkpoint yet; retry")
        receipt = led.receipt(index, cp)
    return Response(receipt, 200, {"Cache-Control": CHECKPOINT_CACHE}, media_type=_TEXT)


def _status(reader: _Reader, request: Request) -> Response:
    text = request.path_params["digest"]
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise MalformedError("status: the token digest is 64 lowercase hex digits")
    answer = request.app.state.status.answer(bytes.fromhex(text), int(time.time()))
    if answer is None:
        return _text(404, "no checkpoint yet")
    body = json.dumps(answer, separators=(",", ":")).encode("ascii")
    headers = {"Cache-Control": "no-cache"}
    return Response(body, 200, headers, media_type="application/json")


def make_app(db: str | os.PathLike[str], write: WriteOptions | None = None) -> Starlette:
    """The log's API over the ledger ``db``, a file or a ``postgresql://`` URL (checked to
    open before this returns): read-only, or with ``write`` (the log key and the checkpoint
    schedule) also taking submissions, sequenced by a writer thread that runs while the
    application does. Several servers may serve one PostgreSQL ledger, each with its own
    writer: the store serializes their commits and checkpoints (ADR 0010)."""
    path = location_of(db)
    open_read_only(path).close()  # refuse a missing ledger or another format now
    reader = _Reader(path)
    status = StatusView(path)
    sequencer = None if write is None else Sequencer(path, write)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            if sequencer is not None:
                sequencer.start()
            yield
        finally:
            if sequencer is not None:
                sequencer.stop()
            reader.close()
            status.close()

    app = Starlette(
        routes=[
            Route("/checkpoint", _guarded(_checkpoint), methods=["GET"]),
            Route("/tile/{rest:path}", _guarded(_tile), methods=["GET"]),
            Route("/blob/{rest:path}", _guarded(_blob), methods=["GET"]),
            Route("/entries", post_entries, methods=["POST"]),
            Route("/entries/{index}/receipt", _guarded(_receipt), methods=["GET"]),
            Route("/status/{digest}", _guarded(_status), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # one path per resource: no 307 to a slash variant
    app.state.reader = reader
    app.state.status = status
    app.state.sequencer = sequencer
    return app
