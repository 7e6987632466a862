"""Ledgers and a running read API for the serve tests: uvicorn on 127.0.0.1, an ephemeral port,
in a thread of the test process."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from keys import SigningKey
from ledger.entries import sign_entry
from ledger.serve import LogServer, WriteOptions
from ledger.store import Ledger

LOG = SigningKey.from_seed(
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
)
AUTHOR = SigningKey.from_seed(
    bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
)
ORIGIN = "example.com/lic-log"
LARGE_AT = 300  # the index of the record over 65,535 bytes in the small ledger


def entries(start: int, n: int) -> list[tuple[str, bytes]]:
    return [
        ("test", sign_entry("test", f"payload {i}".encode(), AUTHOR))
        for i in range(start, start + n)
    ]


def make_small(path: Path | str) -> Ledger:
    """321 records, checkpoints at 5, 256, 300 and 321; record 300 is ~100 KB."""
    led = Ledger.create(path, ORIGIN, LOG)
    led.append_batch(entries(0, 5), log_key=LOG)
    led.append_batch(entries(5, 251), log_key=LOG)
    led.append_batch(entries(256, 44), log_key=LOG)
    big = sign_entry("test", bytes(range(256)) * 400, AUTHOR)
    led.append("test", big, log_key=LOG)
    led.append_batch(entries(301, 20), log_key=LOG)
    return led


def new_location(request: pytest.FixtureRequest, tmp_path_factory, name: str) -> Path | str:
    """Where a new ledger lives on the backend ``request.param`` names (``sqlite``: a file,
    ``postgres``: a fresh schema of the session's cluster)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_cluster").new_url(name)
        return url
    path: Path = tmp_path_factory.mktemp(name) / "l.db"
    return path


class Running:
    """A LogServer in a thread (read-only, or taking entries with ``write``)."""

    def __init__(self, db: Path | str, write: WriteOptions | None = None) -> None:
        self.server = LogServer(db, "127.0.0.1", 0, write=write)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            assert self.thread.is_alive(), "server thread died"
            time.sleep(0.02)
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(20)
        assert not self.thread.is_alive()
