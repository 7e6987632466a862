"""A log server taking submissions, as a process (uvicorn on 127.0.0.1, an ephemeral port), a
ledger with an issuer registered, entries to submit, and a small HTTP client."""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keys import SigningKey
from ledger.entries import make_entry
from ledger.store import Ledger, append_entry

ORIGIN = "example.com/lic-log"
MEDIA = 'application/cose; cose-type="cose-sign1"'


def key(n: int) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"submit test key %d" % n).digest())


LOG, ISSUER, HOLDER, STRANGER = key(0), key(1), key(2), key(3)
LOG_SEED = hashlib.sha256(b"submit test key 0").digest()

_SERVER = """
import sys
from keys import SigningKey
from ledger.serve import LogServer, WriteOptions
db, seed, interval, queue, batch, read = sys.argv[1:7]
opts = WriteOptions(
    SigningKey.from_seed(bytes.fromhex(seed)),
    checkpoint_interval=float(interval),
    max_queue=int(queue),
    max_batch=int(batch),
    read_timeout=float(read),
)
server = LogServer(db, "127.0.0.1", 0, write=opts)
print(server.url, flush=True)
server.run()
"""


def make_ledger(path: Path | str) -> None:
    """A ledger whose log registered ISSUER (record 0) and signed a checkpoint."""
    with Ledger.create(path, ORIGIN, LOG) as led:
        p = {"at": int(time.time()), "key": ISSUER.public_key.raw, "role": "issuer", "name": "i"}
        append_entry(led, "key.add", p, LOG, log_key=LOG)


def request_entry(n: int, author: SigningKey = ISSUER) -> bytes:
    """An access.request entry, distinct for each ``n``."""
    p = {
        "at": int(time.time()),
        "applicant": hashlib.sha256(b"applicant %d" % n).digest(),
        "tier": "academic",
        "purpose": "research",
        "region": "DE",
    }
    return make_entry("access.request", p, author)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def request(
    url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Answer:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def post_entry(url: str, entry: bytes, wait: float | None = None, **kw: Any) -> Answer:
    path = "/entries" + ("" if wait is None else f"?wait={wait:g}")
    return request(url, "POST", path, entry, {"Content-Type": MEDIA}, **kw)


class ServerProcess:
    """``LogServer`` with ``WriteOptions`` in a child process."""

    def __init__(
        self,
        db: Path | str,
        *,
        interval: float = 0.2,
        max_queue: int = 4096,
        max_batch: int = 512,
        read_timeout: float = 10.0,
    ) -> None:
        args = [str(db), LOG_SEED.hex(), str(interval), str(max_queue), str(max_batch)]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER, *args, str(read_timeout)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), (self.url, self.proc.poll())
        deadline = time.monotonic() + 60
        while True:  # the writer reads the ledger's state before requests are served
            try:
                if request(self.url, "GET", "/checkpoint", timeout=5).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and self.proc.poll() is None, "no server"
            time.sleep(0.05)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._close()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        self._close()
        return err

    def _close(self) -> None:
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()
