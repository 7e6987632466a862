"""HTTP edge of the witness protocol (C2SP tlog-witness add-checkpoint): a loopback-only
server around ``Witness`` (the log-side client is ``_client``).

The server binds loopback addresses only (127.0.0.0/8, ::1, ``localhost``): it is meant to sit
behind a reverse proxy or a bastion, never to face a network by itself. Each request opens
its own connection to the witness state, and the check-and-store is one SQLite write
transaction, so concurrent requests are safe.
"""

from __future__ import annotations

import ipaddress
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from keys import SigningKey
from keys.errors import LicError, MalformedError

from ._auditing import GateRefusal
from ._protocol import (
    MAX_ADD_CHECKPOINT_BODY,
    SIZE_CONTENT_TYPE,
    AddCheckpointRequest,
    parse_add_checkpoint_request,
)
from ._store import Witness

Gate = Callable[[Witness, AddCheckpointRequest, int], GateRefusal | None]
"""gate(witness, request, now): called before a request is decided; a refusal is answered
instead (the auditing witness, ``AuditingGate``), None lets the witness decide as usual."""

__all__ = ["WitnessServer", "check_loopback", "make_witness_server"]


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
    # the errors http.server answers by itself (a bad request line, oversized headers): plain
    # text like every other answer, not an HTML page
    error_message_format = "%(message)s\n"
    error_content_type = "text/plain; charset=utf-8"

    def __getattr__(self, name: str) -> Any:
        """``do_<METHOD>`` for every method but POST: 405 (SPEC 13.3), never http.server's 501."""
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self.close_connection = True
        body = b"only POST /add-checkpoint\n"
        self.send_response(405)
        self.send_header("Allow", "POST")
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has no body (RFC 9110 9.3.2)
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.log is not None:
            self.server.log(format % args)

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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
        if length_s is None or not (length_s.isascii() and length_s.isdigit()):
            # str.isdigit alone takes "²" or "٣", which int() then refuses
            self.close_connection = True
            self._send(411 if length_s is None else 400, b"Content-Length required\n")
            return
        length = int(length_s)
        if length > MAX_ADD_CHECKPOINT_BODY:
            self.close_connection = True
            self._send(400, b"request too large\n")
            return
        body = self.rfile.read(length)
        gate, refusal = self.server.gate, None
        try:
            req = parse_add_checkpoint_request(body)
            with Witness.open(self.server.db_path, self.server.key) as w:
                if gate is not None:
                    refusal = gate(w, req, self.server.now())
                if refusal is None:
                    outcome = w.add_checkpoint(req.old_size, req.proof, req.note, self.server.now())
        except LicError as e:
            self._send(400, f"{e}\n".encode())
            return
        except sqlite3.Error:
            self._send(503, b"witness storage unavailable; retry\n")
            return
        if refusal is not None:
            self._send(refusal.status, f"{refusal.reason}\n".encode(), headers=refusal.headers)
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
        gate: Gate | None = None,
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
        self.gate = gate
        self._count = 0
        self._lock = threading.Lock()
        super().__init__((host, address[1]), _Handler)

    def now(self) -> int:
        """The server clock's time, in whole seconds (the cosignature timestamp)."""
        return int(self._clock())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (reset, broken pipe, read timeout) is not the server's
        error: no traceback on standard error. Anything else is logged as before."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self.server_address[1])

    def count_request(self) -> None:
        """Count one answered request; after ``max_requests``, shut the server down."""
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
    gate: Gate | None = None,
) -> WitnessServer:
    """A witness server bound to a loopback ``host`` and ``port`` (0: an ephemeral port).
    ``clock`` gives the cosignature timestamps; ``log`` receives one line per request;
    ``gate`` (an ``AuditingGate``) may refuse a request before it is decided."""
    return WitnessServer(
        (host, port), Path(db_path), key, clock=clock, max_requests=max_requests, log=log,
        gate=gate,
    )  # fmt: skip
