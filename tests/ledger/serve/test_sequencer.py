"""The sequencer without HTTP: a writer that cannot start says why and stops cleanly (its
cosigner too), a stopped one refuses entries, and the write options refuse what makes no
sense."""

from __future__ import annotations

import asyncio
import threading

import pytest

from helpers.submit_world import ISSUER, LOG, make_ledger, request_entry
from keys import MalformedError
from ledger.serve import QueueFullError, Sequencer, WriteOptions
from ledger.store import Appended, parse_signed_entry
from ledger.tlog import CosignatureV1Verifier


def _witness() -> CosignatureV1Verifier:
    return CosignatureV1Verifier("witness.example", ISSUER.public_key)


def _stops(seq: Sequencer) -> None:
    t = threading.Thread(target=seq.stop, daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "stop() hangs"


def test_a_writer_that_cannot_start_says_why_and_stops(tmp_path):
    db = tmp_path / "l.db"
    make_ledger(db)
    opts = WriteOptions(LOG, witness_urls=("http://127.0.0.1:9",), witness_keys=(_witness(),))
    seq = Sequencer(db, opts)
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"l.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(MalformedError, match="no ledger"):
        seq.start()
    _stops(seq)


def test_entries_are_committed_then_refused_once_stopped(tmp_path):
    db = tmp_path / "l.db"
    make_ledger(db)
    seq = Sequencer(db, WriteOptions(LOG, checkpoint_interval=0.05))
    seq.start()

    async def go() -> tuple[Appended, bool]:
        got = await seq.submit(parse_signed_entry(request_entry(1)))
        assert isinstance(got, Appended)
        return got, await seq.wait_covered(got.index, 10)

    appended, covered = asyncio.run(go())
    assert covered and seq.published > appended.index
    _stops(seq)

    async def late() -> None:
        seq.submit(parse_signed_entry(request_entry(2)))

    with pytest.raises(QueueFullError):
        asyncio.run(late())


def test_a_wrong_log_key_and_bad_options_are_refused(tmp_path):
    db = tmp_path / "l.db"
    make_ledger(db)
    with pytest.raises(MalformedError, match="not this ledger's log key"):
        Sequencer(db, WriteOptions(ISSUER))
    for bad in (
        {"checkpoint_interval": 0},
        {"checkpoint_interval": 86401},
        {"witness_urls": ("http://127.0.0.1:9",)},
        {"witness_keys": (_witness(),)},
        {"max_queue": 0},
        {"max_batch": 0},
        {"read_timeout": 0},
    ):
        with pytest.raises(MalformedError):
            WriteOptions(LOG, **bad)
