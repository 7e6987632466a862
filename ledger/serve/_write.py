"""The write endpoints (SPEC 16.5): ``POST /entries`` and ``GET /entries/<index>/receipt``.

A submission is read with a size cap and a read deadline, parsed strictly and checked
against its schema before it is queued (400, 413, 415, 408 or 422, never a 500); the
sequencer then commits it with the others waiting and answers with its index and leaf hash,
or with the state's refusal (422). With ``?wait=SECONDS`` (capped) the answer waits for a
published checkpoint covering the entry and carries its tlog-proof receipt (200); otherwise,
or when the wait runs out, it is 202 with the receipt's URL to poll. Every answer of
``POST /entries`` is JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from keys.errors import LicError, MalformedError

from ..entries import MAX_ENTRY_SIZE, entry_problems
from ..store import Appended, SignedEntry, parse_signed_entry
from ._sequencer import QueueFullError, Sequencer

__all__ = [
    "ENTRY_MEDIA_TYPE",
    "MAX_WAIT",
    "parse_index",
    "post_entries",
    "receipt_path",
]

ENTRY_MEDIA_TYPE = "application/cose"  # RFC 9052 section 11.2; cose-type="cose-sign1"
MAX_WAIT = 30.0  # seconds a submitter may ask to wait for its receipt
_RETRY_AFTER = "1"
_INLINE_PARSE = 16 * 1024  # bytes of entry parsed on the event loop itself
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_WAIT = re.compile(r"(0|[1-9][0-9]{0,3})(\.[0-9]{1,3})?")
_JSON_HEADERS = {"Cache-Control": "no-store"}


def receipt_path(index: int) -> str:
    """The path at which the receipt of record ``index`` is polled."""
    return f"/entries/{index}/receipt"


def _error(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    headers = dict(_JSON_HEADERS)
    if status == 503:
        headers["Retry-After"] = _RETRY_AFTER
    if status == 405:
        headers["Allow"] = "GET, HEAD"
    if status == 408:
        headers["Connection"] = "close"
    return JSONResponse({"error": error, "detail": detail, **extra}, status, headers)


class _Refusal(Exception):
    """An answer other than success, raised while reading or checking a submission."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def _check_content_type(request: Request) -> None:
    value = request.headers.get("content-type")
    media, _, params = (value or "").partition(";")
    ok = media.strip().lower() == ENTRY_MEDIA_TYPE
    for p in params.split(";") if params.strip() else ():
        name, _, v = p.strip().partition("=")
        if name.strip().lower() == "cose-type" and v.strip().strip('"') != "cose-sign1":
            ok = False
    if not ok:
        raise _Refusal(
            _error(
                415,
                "unsupported_media_type",
                f"send the entry as {ENTRY_MEDIA_TYPE} (a COSE_Sign1 by its author)",
            )
        )


def _wait_seconds(request: Request) -> float:
    values = request.query_params.getlist("wait")
    if not values:
        return 0.0
    if len(values) > 1 or not _WAIT.fullmatch(values[0]):
        raise _Refusal(_error(400, "malformed", "wait: a decimal number of seconds"))
    return min(float(values[0]), MAX_WAIT)


async def _read_body(request: Request, timeout: float) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not _DECIMAL.fullmatch(length):
            raise _Refusal(_error(400, "malformed", "Content-Length: not a decimal"))
        if int(length) > MAX_ENTRY_SIZE:
            raise _Refusal(_error(413, "too_large", f"an entry is at most {MAX_ENTRY_SIZE} bytes"))
    chunks: list[bytes] = []
    got = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                got += len(chunk)
                if got > MAX_ENTRY_SIZE:
                    raise _Refusal(
                        _error(413, "too_large", f"an entry is at most {MAX_ENTRY_SIZE} bytes")
                    )
                chunks.append(chunk)
    except TimeoutError:
        raise _Refusal(
            _error(408, "timeout", f"the entry was not received within {timeout:g} s")
        ) from None
    body = b"".join(chunks)
    if not body:
        raise _Refusal(_error(400, "malformed", "empty body: send a COSE_Sign1 entry"))
    return body


def _parse(body: bytes) -> SignedEntry:
    """Structure (400), then schema (422)."""
    try:
        entry = parse_signed_entry(body, schema=False)
    except MalformedError as e:
        raise _Refusal(_error(400, "malformed", str(e))) from None
    problems = entry_problems(entry.entry_type, entry.payload)
    if problems:
        findings = [f"{path or '(entry)'}: {m}" for path, m in problems]
        raise _Refusal(
            _error(
                422,
                "refused",
                f"{entry.entry_type} entry refused: " + "; ".join(findings),
                kind="schema",
                findings=findings,
            )
        )
    return entry


async def post_entries(request: Request) -> Response:
    """``POST /entries``: queue an author-signed entry for the next group commit."""
    seq: Sequencer | None = request.app.state.sequencer
    if seq is None:
        return _error(
            405,
            "read_only",
            "this log server is read-only: it was started without --log-key",
        )
    try:
        _check_content_type(request)
        wait = _wait_seconds(request)
        body = await _read_body(request, seq.options.read_timeout)
        # a small entry parses in well under a millisecond: a thread hop would cost more
        entry = (
            _parse(body) if len(body) <= _INLINE_PARSE else await run_in_threadpool(_parse, body)
        )
        try:
            pending = seq.submit(entry)
        except QueueFullError as e:
            return _error(503, "busy", f"{e}; retry")
        try:
            outcome = await pending
        except QueueFullError as e:  # the log stopped before it took the entry
            return _error(503, "busy", f"{e}; retry")
        except Exception as e:  # the batch's transaction failed: nothing of it was written
            return _error(503, "unavailable", f"the ledger could not take the entry now: {e}")
    except _Refusal as r:
        return r.response
    except ClientDisconnect:
        return Response(status_code=400)  # nobody reads it
    except (LicError, OSError, sqlite3.Error) as e:
        return _error(503, "unavailable", f"the ledger could not take the entry now: {e}")
    if not isinstance(outcome, Appended):
        return _error(422, "refused", outcome.message, kind=outcome.kind)
    return await _answer(request, seq, outcome, wait)


async def _answer(request: Request, seq: Sequencer, a: Appended, wait: float) -> Response:
    info: dict[str, Any] = {
        "index": a.index,
        "leaf_hash": a.leaf_hash.hex(),
        "receipt_url": receipt_path(a.index),
    }
    if wait > 0 and await seq.wait_covered(a.index, wait):
        reader = request.app.state.reader

        def read_receipt() -> bytes:
            with reader.ledger() as led:
                receipt: bytes = led.receipt(a.index)
                return receipt

        receipt: bytes | None = None
        with contextlib.suppress(Exception):  # storage busy: the entry is durable anyway
            receipt = await run_in_threadpool(read_receipt)
        if receipt is not None:  # (else the client polls for it)
            info["receipt"] = receipt.decode("utf-8")
            return JSONResponse(info, 200, _JSON_HEADERS)
    headers = {**_JSON_HEADERS, "Location": receipt_path(a.index)}
    return JSONResponse(info, 202, headers)


def parse_index(text: str) -> int:
    """A record index in a path: a decimal without leading zeros, below 2^63."""
    if not _DECIMAL.fullmatch(text) or int(text) >= 1 << 63:
        raise MalformedError("record index: a decimal without leading zeros")
    return int(text)
