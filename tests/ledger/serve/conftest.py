"""Fixtures for the read API tests: a small ledger and a big one, each served by uvicorn on
127.0.0.1 (an ephemeral port) in a thread, stopped at the end of the module. The small one
exists on both backends (a file, and a schema of the session's PostgreSQL cluster): every
test that reads it runs once per backend."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from helpers.serve_world import AUTHOR, LOG, ORIGIN, Running, make_small, new_location
from ledger.entries import ZERO_HASH, RecordEncoder, sign_entry
from ledger.store import Ledger


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def small(request, tmp_path_factory) -> Iterator[tuple[Ledger, Running]]:
    led = make_small(new_location(request, tmp_path_factory, "small"))
    run = Running(led.location)
    yield led, run
    run.stop()
    led.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Iterator[tuple[Ledger, Running]]:
    """65,536 + 700 records (a full level-1 tile, a partial level-2 one), appended encoded."""
    led = Ledger.create(tmp_path_factory.mktemp("big") / "l.db", ORIGIN, LOG)
    entry = sign_entry("test", b"same payload", AUTHOR)
    enc = RecordEncoder(1_767_225_600)
    prev, raws = ZERO_HASH, []
    for i in range(65_536 + 700):
        raw = enc.encode(i, prev, "test", entry)
        raws.append(raw)
        prev = hashlib.sha256(b"\x00" + raw).digest()
    for k in range(0, len(raws), 30_000):
        led.append_encoded(raws[k : k + 30_000])
    led.checkpoint(LOG)
    run = Running(led.path)
    yield led, run
    run.stop()
    led.close()
