"""HTTP edge of the witness protocol (C2SP tlog-witness add-checkpoint): a loopback-only
server around ``Witness`` and the log-side client that collects cosignatures.

The server binds loopback addresses only (127.0.0.0/8, ::1, ``localhost``): it is meant to sit
behind a reverse proxy or a bastion, never to face a network by itself. Each request opens
its own connection to the witness state, and the check-and-store is one SQLite write
transaction, so concurrent requests are safe.
"""

from __future__ import annotations

import ipaddress
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from keys import SigningKey
from keys.errors import LicError, MalformedError, VerificationError

from ._cosign import CosignatureV1Verifier, parse_signature_lines
from ._note import open_note
from ._store import Ledger
from ._witness import (
    MAX_ADD_CHECKPOINT_BODY,
    format_add_checkpoint_request,
    parse_add_checkpoint_request,
)
from ._witness_store import Witness

__all__ = [
    "CosignatureCollection",
    "WitnessAnswer",
    "WitnessServer",
    "check_loopback",
    "collect_cosignatures",
    "make_witness_server",
    "post_add_checkpoint",
]

SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_RESPONSE = 64 * 1024
CLIENT_TIMEOUT = 10.0


def check_loopback(host: str) -> str:
    """The address to bind, refusing anything that is not a loopback address."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError as e:
        raise MalformedError(f"witness: {host!r} is not an IP address (loopback only)") from e
    if not addr.is_loopback:
        raise MalformedError(f"witness: refusing to listen on non-loopback address {host}")
    return str(addr)


class _Handler(BaseHTTPRequestHandler):
    server: WitnessServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds per socket read: a slow or short body cannot hold a thread forever

    def log_message(self, format: str, *args: object) -> None:
        if self.server.log is not None:
            self.server.log(format % args)

    def _send(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(405, b"only POST /add-checkpoint\n")

    def do_POST(self) -> None:
        try:
            self._post()
        finally:
            self.server.count_request()

    def _post(self) -> None:
        if self.path != "/add-checkpoint":
            self._send(404, b"not found\n")
            return
        length_s = self.headers.get("Content-Length")
        if length_s is None or not length_s.isdigit():
            self.close_connection = True
            self._send(411 if length_s is None else 400, b"Content-Length required\n")
            return
        length = int(length_s)
        if length > MAX_ADD_CHECKPOINT_BODY:
            self.close_connection = True
            self._send(400, b"request too large\n")
            return
        body = self.rfile.read(length)
        try:
            req = parse_add_checkpoint_request(body)
            with Witness.open(self.server.db_path, self.server.key) as w:
                outcome = w.add_checkpoint(req.old_size, req.proof, req.note, self.server.now())
        except LicError as e:
            self._send(400, f"{e}\n".encode())
            return
        except sqlite3.Error:
            self._send(503, b"witness storage unavailable; retry\n")
            return
        if outcome.status == 200:
            self._send(200, "".join(outcome.cosignatures).encode("utf-8"))
        elif outcome.status == 409 and not outcome.split_view:
            self._send(409, f"{outcome.stored_size}\n".encode("ascii"), SIZE_CONTENT_TYPE)
        else:
            self._send(outcome.status, f"{outcome.reason}\n".encode())


class WitnessServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer serving one witness state file. ``max_requests``: shut down
    by itself after that many POSTs (for tests and one-shot use)."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        db_path: Path,
        key: SigningKey,
        *,
        clock: Callable[[], float] = time.time,
        max_requests: int | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        host = check_loopback(address[0])
        if ipaddress.ip_address(host).version == 6:
            self.address_family = socket.AF_INET6
        with Witness.open(db_path, key):
            pass  # refuse a wrong key or a missing state file before binding
        self.db_path = db_path
        self.key = key
        self._clock = clock
        self.max_requests = max_requests
        self.log = log
        self._count = 0
        self._lock = threading.Lock()
        super().__init__((host, address[1]), _Handler)

    def now(self) -> int:
        return int(self._clock())

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def count_request(self) -> None:
        with self._lock:
            self._count += 1
            done = self.max_requests is not None and self._count >= self.max_requests
        if done:
            threading.Thread(target=self.shutdown, daemon=True).start()


def make_witness_server(
    db_path: str | Path,
    key: SigningKey,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Callable[[], float] = time.time,
    max_requests: int | None = None,
    log: Callable[[str], None] | None = None,
) -> WitnessServer:
    """A witness server bound to a loopback ``host`` and ``port`` (0: an ephemeral port).
    ``clock`` gives the cosignature timestamps; ``log`` receives one line per request."""
    return WitnessServer(
        (host, port), Path(db_path), key, clock=clock, max_requests=max_requests, log=log
    )


# -- client -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WitnessAnswer:
    status: int
    content_type: str
    body: bytes


def _check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MalformedError(f"witness URL must be http(s)://host[:port][/prefix]: {url!r}")
    return url.rstrip("/") + "/add-checkpoint"


def post_add_checkpoint(
    url: str, old_size: int, proof: Sequence[bytes], note: bytes, timeout: float = CLIENT_TIMEOUT
) -> WitnessAnswer:
    """POST one add-checkpoint request to the witness at submission prefix ``url``."""
    target = _check_url(url)
    body = format_add_checkpoint_request(old_size, proof, note)
    req = urllib.request.Request(  # noqa: S310  (scheme checked above)
        target, data=body, method="POST", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return WitnessAnswer(
                resp.status, resp.headers.get("Content-Type", ""), resp.read(MAX_RESPONSE)
            )
    except urllib.error.HTTPError as e:
        with e:
            return WitnessAnswer(e.code, e.headers.get("Content-Type", ""), e.read(MAX_RESPONSE))


@dataclass(frozen=True, slots=True)
class WitnessReport:
    url: str
    ok: bool
    detail: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CosignatureCollection:
    """What ``collect_cosignatures`` got: per witness URL a report, the distinct trusted
    witnesses that cosigned, and whether ``quorum`` of them did."""

    size: int
    reports: tuple[WitnessReport, ...]
    cosigners: tuple[str, ...]
    stored: int
    quorum: int

    @property
    def met(self) -> bool:
        return len(self.cosigners) >= self.quorum


def _ask(
    ledger: Ledger,
    url: str,
    note: bytes,
    size: int,
    witnesses: Sequence[CosignatureV1Verifier],
    timeout: float,
) -> tuple[WitnessReport, list[str]]:
    old = 0
    for _ in range(2):  # old size 0 first; a 409 names the witness's size
        proof = ledger.consistency_proof(old, size) if 0 < old < size else []
        ans = post_add_checkpoint(url, old, proof, note, timeout)
        if ans.status == 409 and ans.content_type.startswith(SIZE_CONTENT_TYPE):
            text = ans.body.decode("ascii", "replace")
            if not text.endswith("\n") or not text[:-1].isdigit() or len(text) > 21:
                return WitnessReport(url, False, "409 with a malformed size body"), []
            old = int(text[:-1])
            if old > size:
                return WitnessReport(url, False, f"witness is at size {old} > {size}"), []
            continue
        if ans.status != 200:
            reason = ans.body.decode("utf-8", "replace").strip()[:200]
            return WitnessReport(url, False, f"HTTP {ans.status}: {reason}"), []
        try:
            sigs = parse_signature_lines(ans.body)
            verified = open_note(note + "".join(s.line() for s in sigs).encode(), witnesses)
        except LicError as e:
            return WitnessReport(url, False, f"bad cosignature: {e}"), []
        mine = list(verified.verified)  # only trusted witness keys verify
        if not mine:
            return WitnessReport(url, False, "no cosignature by a trusted witness key"), []
        names = tuple(s.name for s in mine)
        return WitnessReport(url, True, "cosigned", names), [s.line() for s in mine]
    return WitnessReport(url, False, "the witness keeps answering 409"), []


def collect_cosignatures(
    ledger: Ledger,
    urls: Sequence[str],
    witnesses: Sequence[CosignatureV1Verifier],
    quorum: int,
    *,
    timeout: float = CLIENT_TIMEOUT,
) -> CosignatureCollection:
    """Ask every witness at ``urls`` to cosign the latest checkpoint, keep the cosignatures
    that verify under ``witnesses`` (others are ignored) and store them with the checkpoint.
    A witness that is down or refuses is reported, not raised."""
    if not urls or not witnesses:
        raise MalformedError("cosign: give at least one witness URL and one witness key")
    if not 1 <= quorum <= len(witnesses):
        raise MalformedError("cosign: the quorum must be between 1 and the number of keys")
    cp = ledger.latest_checkpoint()
    if cp is None:
        raise MalformedError("ledger: no checkpoint yet")
    size = cp.checkpoint.size
    reports: list[WitnessReport] = []
    lines: list[str] = []
    for url in urls:
        try:
            report, got = _ask(ledger, url, cp.note, size, witnesses, timeout)
        except (OSError, urllib.error.URLError) as e:
            report, got = WitnessReport(url, False, f"unreachable: {e}"), []
        reports.append(report)
        lines += got
    stored = ledger.add_cosignatures(size, lines) if lines else 0
    names = sorted({n for r in reports for n in r.names})
    return CosignatureCollection(size, tuple(reports), tuple(names), stored, quorum)


def add_offline_cosignatures(
    ledger: Ledger,
    lines: bytes | str,
    witnesses: Sequence[CosignatureV1Verifier],
    size: int | None = None,
) -> tuple[int, tuple[str, ...]]:
    """Store cosignature lines made offline (``lic witness cosign``) with the checkpoint at
    ``size`` (default: the latest). Every line must verify under one of ``witnesses`` over
    that checkpoint, or nothing is stored (VerificationError). Returns (lines added or
    replaced, the witnesses' names)."""
    if not witnesses:
        raise MalformedError("cosignatures: give at least one witness key")
    cp = ledger.latest_checkpoint() if size is None else ledger.checkpoint_at(size)
    if cp is None:
        raise MalformedError("ledger: no checkpoint" + ("" if size is None else f" at size {size}"))
    sigs = parse_signature_lines(lines)
    known = {(w.name, w.key_hash) for w in witnesses}
    stray = [s.name for s in sigs if (s.name, s.key_hash) not in known]
    if stray:
        raise VerificationError(f"cosignatures: not by a given witness key: {', '.join(stray)}")
    # every line is by a given key now, so every line is checked (a bad one raises)
    open_note(cp.note + "".join(s.line() for s in sigs).encode(), witnesses)
    stored = ledger.add_cosignatures(cp.checkpoint.size, [s.line() for s in sigs])
    return stored, tuple(sorted({s.name for s in sigs}))
